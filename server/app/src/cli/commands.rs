//! What each subcommand does.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use caravan_domain::Role;
use caravan_domain::records::Timestamp;

use crate::{
    Application, Settings,
    cli::{AuthCommand, Cli, Command, ConfigCommand, TokenCommand, UserCommand},
    config::{DEFAULT_CONFIG, redact_url},
    startup::build_core,
    telemetry,
};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config {
        command: ConfigCommand::Default,
    } = &cli.command
    {
        print!("{DEFAULT_CONFIG}");
        return Ok(());
    }
    // Client commands speak HTTP to a server: no server configuration is read.
    let command = match cli.command {
        Command::Login {
            url,
            username,
            token_stdin,
        } => return Ok(crate::client::login(url, username, token_stdin).await?),
        Command::Push(args) => return Ok(crate::client::push(args).await?),
        Command::Pull(args) => return Ok(crate::client::pull(args).await?),
        command => command,
    };
    let settings = Settings::load(cli.config.as_deref()).context("loading the configuration")?;
    match command {
        Command::Serve => serve(settings).await,
        Command::Runner(args) => crate::runner::run(settings, args).await,
        Command::Migrate => {
            crate::startup::migrate(&settings).await?;
            println!(
                "catalog {} is up to date",
                redact_url(&settings.database_url())
            );
            Ok(())
        }
        Command::User {
            command: UserCommand::Create { username, role },
        } => {
            let role: Role = role.parse()?;
            let (password, generated) = read_password()?;
            let core = build_core(&settings, false).await?;
            core.create_user(None, &username, &password, role).await?;
            println!("created {} {username}", role.as_str());
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    user,
                    scopes,
                    name,
                    expires_in_days,
                },
        } => {
            let core = build_core(&settings, false).await?;
            let expires = expires_in_days.map(|days| {
                Timestamp::from_datetime(
                    chrono::Utc::now() + chrono::Duration::days(i64::from(days)),
                )
            });
            let created = core
                .create_token_for_user(&user, &name, &scopes, expires)
                .await?;
            println!("{}", created.secret);
            Ok(())
        }
        Command::Auth {
            command: AuthCommand::RotateJwtSecret,
        } => {
            let file = crate::jwt_keys::rotate(&settings)?;
            println!(
                "rotated the session key in {}; restart every server to sign with it \
                 (sessions signed with the previous key stay valid until they expire)",
                file.display()
            );
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            println!("{settings:#?}");
            println!(
                "effective database.url = {}",
                redact_url(&settings.database_url())
            );
            println!("effective storage.url = {}", settings.storage_url());
            Ok(())
        }
        Command::Peer { command } => crate::cli::federation::peer(&settings, command).await,
        Command::Share { command } => crate::cli::federation::share(&settings, command).await,
        Command::Subscription { command } => {
            crate::cli::federation::subscription(&settings, command).await
        }
        Command::Federation { command } => {
            crate::cli::federation::federation(&settings, command).await
        }
        Command::Config {
            command: ConfigCommand::Default,
        }
        | Command::ValidateOnnx { .. }
        | Command::RunLimited { .. }
        | Command::Login { .. }
        | Command::Push(_)
        | Command::Pull(_) => {
            unreachable!("handled before the settings are loaded")
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    telemetry::init(&settings.log.level, &settings.log.format);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let app = Application::build(settings.clone()).await?;
    let handles = app.handles();
    let (core, drain) = (
        app.core().clone(),
        std::time::Duration::from_secs(settings.http.drain_secs),
    );
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        // Not ready first, still serving: balancers take this replica out before it stops
        // accepting, so no request meets a closed port or a connection closed under it.
        core.start_draining();
        if !drain.is_zero() {
            tracing::info!(
                ?drain,
                "stopping: reporting not ready while balancers notice"
            );
            tokio::time::sleep(drain).await;
        }
        tracing::info!("stopping: letting in-flight requests finish");
        futures::future::join_all(handles.iter().map(|h| h.stop(true))).await;
    });
    tracing::info!(
        bind = %settings.http.bind,
        port = app.port(),
        database = %redact_url(&settings.database_url()),
                storage = %app.core().storage_description(),
        federation_port = app.federation_port(),
        "Caravan is listening"
    );
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

/// The password for `user create`: the first line of standard input, or a generated one.
fn read_password() -> anyhow::Result<(String, bool)> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if !line.is_empty() {
            return Ok((line, false));
        }
    }
    use rand::RngCore;
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    Ok((hex::encode(bytes), true))
}
