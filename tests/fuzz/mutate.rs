//! Mutations shared by the targets: byte-level edits, integers near the edges of their type, and
//! text a tokenizer or a terminal may choke on.

use arbtest::arbitrary::{Result, Unstructured};

/// A u64 from the values that break size arithmetic, or one near `old`.
pub fn edgy_u64(u: &mut Unstructured, old: u64) -> Result<u64> {
    Ok(match u.int_in_range(0..=15)? {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => old.wrapping_add(1),
        4 => old.wrapping_sub(1),
        5 => old.wrapping_mul(2),
        6 => old / 2,
        7 => u64::from(u32::MAX),
        8 => 1 << 32,
        9 => 1 << 62,
        10 => u64::MAX,
        11 => u64::MAX / 4 + 1,
        12 => i64::MAX as u64,
        13 => u.int_in_range(0..=4096)?,
        14 => old.wrapping_add(u.int_in_range(0..=64)?),
        _ => u.arbitrary()?,
    })
}

/// A u32 from the values that break size arithmetic, or one near `old`.
pub fn edgy_u32(u: &mut Unstructured, old: u32) -> Result<u32> {
    Ok(match u.int_in_range(0..=9)? {
        0 => 0,
        1 => 1,
        2 => old.wrapping_add(1),
        3 => old.wrapping_sub(1),
        4 => u32::MAX,
        5 => i32::MAX as u32,
        6 => 1 << 31,
        7 => u.int_in_range(0..=64)?,
        8 => old.wrapping_mul(2),
        _ => u.arbitrary()?,
    })
}

/// Edit `data` 1–8 times: flip bits, overwrite, insert, delete, duplicate or truncate. Positions
/// fall inside `focus` (clamped to the data) most of the time, anywhere otherwise.
pub fn bytes(
    u: &mut Unstructured,
    data: &mut Vec<u8>,
    focus: std::ops::Range<usize>,
) -> Result<()> {
    let ops = u.int_in_range(1..=8)?;
    for _ in 0..ops {
        let len = data.len();
        let pos = |u: &mut Unstructured| -> Result<usize> {
            if len == 0 {
                return Ok(0);
            }
            let (lo, hi) = (focus.start.min(len - 1), focus.end.min(len));
            if hi > lo && u.ratio(7, 8)? {
                u.int_in_range(lo..=hi - 1)
            } else {
                u.int_in_range(0..=len - 1)
            }
        };
        match u.int_in_range(0..=6)? {
            0 if len > 0 => {
                let i = pos(u)?;
                data[i] ^= 1 << u.int_in_range(0..=7)?;
            }
            1 if len > 0 => {
                let i = pos(u)?;
                data[i] = *u.choose(&[
                    0u8, 0xff, 0x7f, 0x80, b'"', b'{', b'}', b'[', b']', b',', b':', b'0', b'9',
                    b'-', b'.', b'e', b'\\', b'\n', b' ',
                ])?;
            }
            2 => {
                let i = pos(u)?.min(len);
                let n = u.int_in_range(1..=16)?;
                let extra: Vec<u8> = (0..n).map(|_| u.arbitrary()).collect::<Result<_>>()?;
                data.splice(i..i, extra);
            }
            3 if len > 0 => {
                let i = pos(u)?;
                let n = u.int_in_range(1..=32)?.min(len - i);
                data.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = pos(u)?;
                let n = u.int_in_range(1..=32)?.min(len - i);
                let chunk = data[i..i + n].to_vec();
                let j = pos(u)?.min(data.len());
                data.splice(j..j, chunk);
            }
            5 if len > 0 => {
                let i = pos(u)?;
                data.truncate(i);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Text that is awkward to tokenize or to draw: empty, blank, control characters, combining marks,
/// wide and zero-width characters, right-to-left scripts, special-token look-alikes, long runs.
pub fn odd_text(u: &mut Unstructured) -> Result<String> {
    const PIECES: &[&str] = &[
        "",
        " ",
        "\n",
        "\t\r\n",
        "\0",
        "\u{7}\u{1b}[31m",
        "The cat sat on the mat.",
        "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva",
        " Zorva",
        "a",
        "é\u{301}\u{301}\u{301}",
        "🙂👩‍👩‍👧🏳️‍🌈",
        "漢字かなカナ",
        "שלום עולם",
        "\u{200b}\u{200d}\u{feff}\u{202e}",
        "<|endoftext|>",
        "<|im_start|>user\n",
        "\u{fffd}",
        "ﷺ",
        "  ",
        "1234567890",
    ];
    let mut out = String::new();
    for _ in 0..u.int_in_range(0..=6)? {
        match u.int_in_range(0..=5)? {
            0..=2 => out.push_str(u.choose(PIECES)?),
            3 => out.push_str(&u.arbitrary::<String>()?),
            4 => {
                let piece = *u.choose(PIECES)?;
                let n = u.int_in_range(1..=120)?;
                out.push_str(&piece.repeat(n));
            }
            _ => out.push(u.arbitrary::<char>()?),
        }
    }
    Ok(out)
}
