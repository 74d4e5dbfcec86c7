//! Where dump writes and what it selects: --names that match nothing, output paths that cannot be
//! written.

use super::*;

pub fn cases(lab: &Lab) -> Vec<Case> {
    let m = tiny();
    let dump_to = |out: &str, extra: &[&str]| -> Vec<String> {
        let args = ["dump", "-m", &m, "--prompt", "hi", "-o", out];
        args.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let existing = lab.out_arg("existing.safetensors");
    let nowhere = lab.out_arg("no-such-folder/x.safetensors");
    let folder = lab.out_arg("existing-model");
    let mut cases = vec![
        fails(
            "empty --names",
            &dump_to(&existing, &["--names", ""]),
            &["--names: \"\" matches no hook"],
        ),
        fails(
            "blank --names",
            &dump_to(&existing, &["--names", " , "]),
            &["--names: \"\" matches no hook"],
        ),
        fails(
            "a --names typo",
            &dump_to(&existing, &["--names", "blocks.*.hook_patern"]),
            &["\"blocks.*.hook_patern\" matches no hook"],
        ),
        fails(
            "output in a missing folder",
            &dump_to(&nowhere, &[]),
            &["no-such-folder", "does not exist"],
        ),
        fails(
            "output is a folder",
            &dump_to(&folder, &[]),
            &["existing-model: it is a folder"],
        ),
    ];
    if !cfg!(feature = "cuda") {
        cases.push(fails(
            "a device not built in",
            &dump_to(&existing, &["--device", "cuda"]),
            &["CUDA"],
        ));
    }
    if cfg!(target_os = "linux") {
        // Permissions do not stop root, so a place no one may create files in: sysfs.
        cases.push(fails(
            "an unwritable output folder",
            &dump_to("/sys/x.safetensors", &[]),
            &["cannot create /sys/x.safetensors"],
        ));
    }
    cases
}
