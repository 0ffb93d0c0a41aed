use std::process::ExitCode;

use clap::Parser;

use caravan::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The validator child must print nothing but its verdict, so it skips all set-up.
    if let Command::ValidateOnnx {
        ort_library,
        memory_limit,
        cpu_seconds,
        model,
    } = &cli.command
    {
        let code = caravan_inference::run_validation_child(
            ort_library,
            *memory_limit,
            *cpu_seconds,
            model.as_deref(),
        );
        return ExitCode::from(code as u8);
    }
    if let Command::RunLimited {
        memory_mb,
        cpu_secs,
        argv,
    } = &cli.command
    {
        return caravan::cli::limited::exec_limited(*memory_mb, *cpu_secs, argv);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("caravan: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(caravan::cli::commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caravan: {e:#}");
            match e.downcast_ref::<caravan::client::ClientError>() {
                Some(client) => ExitCode::from(client.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}
