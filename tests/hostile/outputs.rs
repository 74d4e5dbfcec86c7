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
    // Paths that exist and are not regular files: never replaced by a regular file.
    let dangling = lab.out().join("dangling.safetensors");
    let looped = lab.out().join("loop.safetensors");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("gone.safetensors", &dangling).unwrap();
        std::os::unix::fs::symlink("loop.safetensors", &looped).unwrap();
        let full = lab.out().join("full.png");
        std::os::unix::fs::symlink("/dev/full", &full).unwrap();
        let socket = lab.out().join("socket.safetensors");
        // Leaked: the socket file must outlive this function, and the listener with it.
        std::mem::forget(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        cases.extend([
            fails(
                "output is a link to nothing",
                &dump_to(&dangling.to_string_lossy(), &[]),
                &["dangling.safetensors: it is a symbolic link to gone.safetensors, which does not exist"],
            ),
            fails(
                "output is a link loop",
                &dump_to(&looped.to_string_lossy(), &[]),
                &["loop.safetensors", "symbolic links"],
            ),
            fails(
                "output is a socket",
                &dump_to(&socket.to_string_lossy(), &[]),
                &["socket.safetensors: it is a socket, not a file"],
            ),
            fails(
                "output is a full device, written directly",
                &dump_to("/dev/full", &[]),
                &["writing /dev/full", "No space left"],
            ),
            fails(
                "export through a link to a full device",
                &[
                    "export", "attention", "-m", &m, "--prompt", "hi", "--layer", "0", "--head",
                    "0", "-o", &full.to_string_lossy(),
                ],
                &["full.png", "No space left"],
            ),
        ]);
    }
    let read_only = lab.out().join("read-only.safetensors");
    std::fs::write(&read_only, b"keep me as well").unwrap();
    let mut perms = std::fs::metadata(&read_only).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&read_only, perms).unwrap();
    cases.extend([
        fails(
            "output is a read-only file",
            &dump_to(&read_only.to_string_lossy(), &[]),
            &["read-only.safetensors: the file is read-only"],
        ),
        fails(
            "an output name past 255 bytes",
            &dump_to(
                &lab.out_arg(&format!("{}.safetensors", "n".repeat(245))),
                &[],
            ),
            &["the file name is 257 bytes"],
        ),
    ]);
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
