//! Paths to a model that are not what they seem: folders named like files, links to nothing, link
//! loops, paths through a file, shard indexes that point outside the model folder.

use super::*;
use std::path::Path;

pub fn cases(lab: &Lab) -> Vec<Case> {
    let sharded = |name: &str, change: &dyn Fn(&Path)| lab.variant(name, "tiny-b", change);
    let mut rows: Vec<(&str, String, Vec<&str>)> =
        vec![
        (
            "a missing shard",
            sharded("missing-shard", &|d| {
                std::fs::remove_file(d.join("model-00002-of-00002.safetensors")).unwrap()
            }),
            vec!["model-00002-of-00002.safetensors, which is missing"],
        ),
        (
            "a shard index that climbs out of the folder",
            sharded("climbing-index", &|d| {
                edit_index(d, |map| map["h.0.ln_1.weight"] = json!("../../../../etc/passwd"))
            }),
            vec!["names the shard \"../../../../etc/passwd\", which lies outside the model folder"],
        ),
        (
            "a shard index with an absolute path",
            sharded("absolute-index", &|d| {
                edit_index(d, |map| map["h.0.ln_1.weight"] = json!("/etc/passwd"))
            }),
            vec!["\"/etc/passwd\", which lies outside"],
        ),
        (
            "a shard index with no shards",
            sharded("empty-index", &|d| edit_index(d, |map| *map = json!({}))),
            vec!["lists no shards"],
        ),
        (
            "a shard index that is not JSON",
            sharded("bad-index", &|d| {
                std::fs::write(d.join("model.safetensors.index.json"), "[").unwrap()
            }),
            vec!["is not a valid shard index"],
        ),
        (
            "a folder named model.safetensors",
            lab.variant("folder-weights", "tiny-a", |d| {
                std::fs::remove_file(d.join("model.safetensors")).unwrap();
                std::fs::create_dir(d.join("model.safetensors")).unwrap();
            }),
            vec!["folder-weights/model.safetensors is a folder, not a file"],
        ),
        ("a model folder that does not exist", lab.arg("no-such-model"), vec!["no-such-model"]),
    ];
    let config = lab.arg("missing-shard/config.json");
    rows.push((
        "a path through a regular file",
        format!("{config}/model"),
        vec!["config.json is a file, not a folder"],
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        rows.push((
            "a link to a missing blob",
            lab.variant("dangling", "tiny-a", |d| {
                std::fs::remove_file(d.join("model.safetensors")).unwrap();
                symlink("../blobs/0123abcd", d.join("model.safetensors")).unwrap();
            }),
            vec!["is a link to ../blobs/0123abcd, which does not exist"],
        ));
        rows.push((
            "a link loop",
            lab.variant("loop", "tiny-a", |d| {
                std::fs::remove_file(d.join("model.safetensors")).unwrap();
                symlink("model.safetensors", d.join("model.safetensors")).unwrap();
            }),
            vec!["loop/model.safetensors is a link that cannot be followed"],
        ));
        symlink(lab.path("nowhere"), lab.path("dangling-model")).unwrap();
        rows.push((
            "--model is a link to nothing",
            lab.arg("dangling-model"),
            vec!["dangling-model is a link to"],
        ));
    }
    let mut cases: Vec<Case> = rows
        .iter()
        .map(|(what, model, needles)| dump_model(lab, what, model, needles))
        .collect();
    #[cfg(unix)]
    {
        // The Hugging Face cache keeps files as links into blobs/: an interrupted download leaves one
        // pointing at nothing.
        let snapshot = lab.path("hub/models--me--tiny/snapshots/0123abcd");
        std::fs::create_dir_all(&snapshot).unwrap();
        std::fs::create_dir_all(lab.path("hub/models--me--tiny/refs")).unwrap();
        std::fs::write(lab.path("hub/models--me--tiny/refs/main"), "0123abcd").unwrap();
        for f in ["config.json", "tokenizer.json"] {
            std::fs::copy(fixture_dir("tiny-a").join(f), snapshot.join(f)).unwrap();
        }
        std::os::unix::fs::symlink("../../blobs/5f1e8d0c", snapshot.join("model.safetensors"))
            .unwrap();
        cases.push(
            dump_model(
                lab,
                "a hub cache with a missing blob",
                "me/tiny",
                &["model.safetensors is a link to ../../blobs/5f1e8d0c, which does not exist"],
            )
            .env("HF_HUB_CACHE", &lab.arg("hub")),
        );
    }
    cases
}
