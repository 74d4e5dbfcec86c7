mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Pretty panic reports; errors we expect are printed below on one line.
    let _ = color_eyre::install();
    let cli = cli::Cli::parse();
    // Batch commands run one job and exit: let them reuse freed buffers. The tutor is long-lived, so it
    // keeps glibc's defaults and hands memory back after a long prompt.
    if !matches!(cli.command, None | Some(cli::Command::Tutor(_))) {
        // SAFETY: no other thread exists yet.
        unsafe { glassbox::malloc::reuse_freed_buffers() };
    }
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // `glassbox inspect | head` closing the pipe early is not an error.
        Err(report) if is_broken_pipe(&report) => ExitCode::SUCCESS,
        Err(report) => {
            if std::env::var_os("GLASSBOX_DEBUG").is_some() {
                eprintln!("{report:?}");
            }
            let (line, hint) = glassbox::error::one_line(&report);
            eprintln!("error: {line}");
            if let Some(hint) = hint {
                eprintln!("  hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(report: &color_eyre::Report) -> bool {
    report.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
