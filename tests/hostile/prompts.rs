//! Prompts: too long (a big file, /dev/zero, a huge --prompt), not text (Latin-1, NUL bytes), not a file,
//! missing, or empty. A prompt file is read no further than a prompt that fits could be.

use super::*;

pub fn cases(lab: &Lab) -> Vec<Case> {
    let m = tiny();
    let dump_to = lab.out_arg("existing.safetensors");
    let dump = |what: &str, source: &[&str], needles: &[&str]| {
        let mut args = vec!["dump", "-m", &m, "-o", &dump_to];
        args.extend_from_slice(source);
        fails(what, &args, needles)
    };
    // 4 MB of words: the bound (a few kilobytes for tiny-a) stops reading long before the end.
    let big = lab.write("big.txt", "word ".repeat(800_000));
    let not_utf8 = lab.write("latin1.txt", b"caf\xe9 au lait");
    let nul = lab.write("nul.txt", b"The boat\0came home");
    let empty = lab.write("empty.txt", "");
    let blank = lab.write("blank.txt", " \n\t ");
    let folder = lab.arg("out");
    let missing = lab.arg("missing.txt");
    let huge_arg = "x".repeat(100_000);
    let many_words = "word ".repeat(200);
    let too_long = ["longer than this model's context of", TINY_CTX];
    let mut cases = vec![
        dump("a 4 MB prompt file", &["--prompt-file", &big], &too_long),
        dump(
            "a 100 kB --prompt",
            &["--prompt", &huge_arg],
            &["the prompt is 100000 bytes, more than", TINY_CTX],
        ),
        dump(
            "more tokens than the context",
            &["--prompt", &many_words],
            &["tokens but this model's context is", TINY_CTX],
        ),
        dump(
            "a Latin-1 prompt file",
            &["--prompt-file", &not_utf8],
            &["latin1.txt", "is not UTF-8 text (byte 3 is 0xe9)"],
        ),
        dump(
            "NUL bytes in a prompt file",
            &["--prompt-file", &nul],
            &["nul.txt", "holds a NUL byte (byte 8)"],
        ),
        dump(
            "a folder as the prompt file",
            &["--prompt-file", &folder],
            &["is a folder, not a file"],
        ),
        dump(
            "a missing prompt file",
            &["--prompt-file", &missing],
            &["missing.txt", "does not exist"],
        ),
        dump(
            "an empty prompt without BOS",
            &["--prompt", "", "--no-bos"],
            &["the prompt is empty"],
        ),
        dump(
            "an empty prompt file without BOS",
            &["--prompt-file", &empty, "--no-bos"],
            &["the prompt is empty"],
        ),
        fails(
            "export: a prompt of only whitespace",
            &[
                "export",
                "-m",
                &m,
                "--prompt-file",
                &blank,
                "--layer",
                "0",
                "-o",
                &lab.out_arg("existing.png"),
            ],
            &["the prompt is empty"],
        ),
        fails(
            "the tutor: a non-UTF-8 prompt file",
            &["tutor", "-m", &m, "--prompt-file", &not_utf8],
            &["is not UTF-8 text"],
        ),
    ];
    if cfg!(unix) {
        for endless in ["/dev/zero", "/dev/urandom"] {
            cases.push(dump(endless, &["--prompt-file", endless], &too_long));
        }
        // The tutor reads its prompt before the model is known: any model's bound, 64 MiB.
        cases.push(fails(
            "the tutor: /dev/zero as the prompt file",
            &["tutor", "-m", &m, "--prompt-file", "/dev/zero"],
            &["longer than 67108864 bytes"],
        ));
    }
    cases
}
