use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "djmig {} crashed: {info}\nThis is a bug in djmig; please report it with the command you ran.",
            env!("CARGO_PKG_VERSION")
        );
    }));
    let cli = match djmig::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = {
        let mut io = djmig::Io {
            out: &mut out,
            err: &mut err,
            style: djmig::Style::detect(cli.color),
        };
        match djmig::run(&cli, &mut io) {
            Ok(exit) => exit.code(),
            Err(e) => {
                e.report(io.err);
                e.exit.code()
            }
        }
    };
    let _ = out.flush();
    ExitCode::from(code as u8)
}
