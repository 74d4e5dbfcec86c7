//! Options out of range: generate's sampling settings and length, inspect's and export's numbers. Each is
//! named as typed on the command line; a continuation cut short by the context says so.

use super::*;

pub fn cases(lab: &Lab) -> Vec<Case> {
    let m = tiny();
    let generate = |what: &str, options: &[&str], needles: &[&str]| {
        let mut args = vec!["generate", "-m", &m, "--prompt", "The boat"];
        args.extend_from_slice(options);
        fails(what, &args, needles)
    };
    // 31 × "a b " is 63 tokens: with BOS, the whole context of tiny-a.
    let full = "a b ".repeat(31);
    let png = lab.out_arg("existing.png");
    let mut cases = vec![
        generate(
            "negative temperature",
            &["-t", "-1"],
            &["--temperature -1 is out of range"],
        ),
        generate(
            "negative temperature, with =",
            &["-t=-1"],
            &["--temperature -1"],
        ),
        generate("NaN temperature", &["-t", "NaN"], &["--temperature NaN"]),
        generate(
            "infinite temperature",
            &["-t", "inf"],
            &["--temperature inf"],
        ),
        generate(
            "a temperature that underflows",
            &["-t", "1e-300"],
            &["--temperature 1e-300"],
        ),
        generate(
            "top-k 0",
            &["-t", "1", "--top-k", "0"],
            &["--top-k 0 is out of range"],
        ),
        fails_with(
            "top-k -1 (clap)",
            2,
            &["generate", "-m", &m, "--prompt", "hi", "--top-k", "-1"],
            &["'--top-k <TOP_K>'"],
        ),
        generate(
            "top-p 0",
            &["-t", "1", "--top-p", "0"],
            &["--top-p 0 is out of range"],
        ),
        generate(
            "top-p 2",
            &["-t", "1", "--top-p", "2"],
            &["--top-p 2 is out of range"],
        ),
        generate(
            "top-p NaN",
            &["-t", "1", "--top-p", "NaN"],
            &["--top-p NaN"],
        ),
        generate(
            "top-p while greedy",
            &["--top-p", "0.9"],
            &["--top-p 0.9 has no effect", "temperature is 0"],
        ),
        generate(
            "no tokens to add",
            &["-n", "0"],
            &["--max-tokens 0 is out of range"],
        ),
        succeeds(
            "-n past the context",
            &["generate", "-m", &m, "--prompt", "The boat", "-n", "100"],
            &[
                "note: stopped after 60 of 100 tokens",
                "context of 64 tokens is full",
            ],
        ),
        succeeds(
            "a prompt that fills the context",
            &["generate", "-m", &m, "--prompt", &full, "-n", "5"],
            &["note: stopped after 1 of 5 tokens"],
        ),
        fails(
            "inspect --top 0",
            &["inspect", "-m", &m, "--prompt", "hi", "--top", "0"],
            &["--top 0 is out of range"],
        ),
        fails(
            "export probs at a negative temperature",
            &[
                "export", "probs", "-m", &m, "--prompt", "hi", "-t", "-1", "-o", &png,
            ],
            &["temperature -1"],
        ),
        fails(
            "export at a negative scale",
            &[
                "export", "-m", &m, "--prompt", "hi", "--layer", "0", "--scale", "-1", "-o", &png,
            ],
            &["the scale -1 is out of range"],
        ),
        fails(
            "export of a layer that does not exist",
            &[
                "export", "-m", &m, "--prompt", "hi", "--layer", "9", "-o", &png,
            ],
            &["there is no layer 9"],
        ),
    ];
    // A GPU back end that was not compiled in: one line (its hint says how to rebuild). (A cuda build
    // opens the GPU or says why in one line; tools/gpu-check.sh and README's Devices.)
    if !cfg!(feature = "cuda") {
        cases.push(fails(
            "--device cuda in a CPU build",
            &["inspect", "-m", &m, "--prompt", "hi", "--device", "cuda"],
            &["--device cuda: this glassbox was built without CUDA support"],
        ));
    }
    cases
}
