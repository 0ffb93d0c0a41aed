//! The federation subcommands: peers, shares, subscriptions and `federation init`.

use std::io::Write;

use anyhow::Context;
use caravan_core::{Core, PeerRequest};
use caravan_domain::records::PeerStatus;
use caravan_domain::{ModelName, Principal, Role, Visibility};
use caravan_federation::{PeerIdentity, certs};

use crate::{
    Settings,
    cli::{FederationCommand, PeerCommand, ShareCommand, SubscriptionCommand},
    startup::build_core,
};

/// The command line acts with the server's own authority (recorded as `system`).
fn system() -> Principal {
    Principal {
        user_id: uuid::Uuid::nil(),
        username: "system".into(),
        role: Role::Admin,
        scopes: Role::Admin.scopes(),
    }
}

pub async fn peer(settings: &Settings, command: PeerCommand) -> anyhow::Result<()> {
    let core = build_core(settings, false).await?;
    let core = &core;
    let set = |name: String, status| async move {
        let peer = core.set_peer_status(None, &name, status).await?;
        println!("peer {} is {}", peer.name, peer.status);
        anyhow::Ok(())
    };
    match command {
        PeerCommand::Add {
            name,
            url,
            subject,
            fingerprint,
            signing_key,
            legacy_acumos,
        } => {
            let peer = core
                .add_peer(
                    None,
                    PeerRequest {
                        name,
                        api_url: url,
                        subject,
                        fingerprint,
                        signing_key,
                        legacy_acumos,
                    },
                )
                .await?;
            println!("registered peer {} ({})", peer.name, peer.api_url);
        }
        PeerCommand::List => {
            for p in core.peers(None).await? {
                let pin = p
                    .fingerprint
                    .as_deref()
                    .or(p.subject.as_deref())
                    .unwrap_or("");
                println!("{}\t{}\t{}\t{pin}", p.name, p.status, p.api_url);
            }
        }
        PeerCommand::Disable { name } => set(name, PeerStatus::Disabled).await?,
        PeerCommand::Enable { name } => set(name, PeerStatus::Active).await?,
        PeerCommand::Remove { name } => set(name, PeerStatus::Removed).await?,
    }
    Ok(())
}

pub async fn share(settings: &Settings, command: ShareCommand) -> anyhow::Result<()> {
    let core = build_core(settings, false).await?;
    match command {
        ShareCommand::Add { model, peer } => {
            core.share_model(&system(), &ModelName::parse(&model)?, &peer)
                .await?;
            println!("{model} is shared with {peer}");
        }
        ShareCommand::Remove { model, peer } => {
            core.unshare_model(&system(), &ModelName::parse(&model)?, &peer)
                .await?;
            println!("{model} is no longer shared with {peer}");
        }
    }
    Ok(())
}

pub async fn subscription(settings: &Settings, command: SubscriptionCommand) -> anyhow::Result<()> {
    let core = build_core(settings, false).await?;
    match command {
        SubscriptionCommand::Add {
            peer,
            catalog,
            models,
            interval,
            visibility,
            owner,
        } => {
            let visibility: Visibility = visibility.parse()?;
            let s = core
                .subscribe(
                    None,
                    Some(&owner),
                    &peer,
                    &catalog,
                    models,
                    interval,
                    visibility,
                )
                .await?;
            println!("{}", s.id);
        }
        SubscriptionCommand::List => {
            for s in core.subscriptions(None).await? {
                let error = s.last_error.as_deref().unwrap_or("-");
                println!(
                    "{}\t{}\t{}\timported {}\twithdrawn {}\tlast error: {error}",
                    s.id, s.peer_name, s.catalog_id, s.imported, s.withdrawn
                );
            }
        }
        SubscriptionCommand::Remove { id } => {
            core.unsubscribe(None, id.parse().context("a subscription id is a UUID")?)
                .await?;
            println!("removed");
        }
    }
    Ok(())
}

fn write(path: &std::path::Path, content: &str, private: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 });
    options
        .open(path)?
        .write_all(content.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

pub async fn federation(settings: &Settings, command: FederationCommand) -> anyhow::Result<()> {
    let FederationCommand::Init {
        out,
        hosts,
        ca_cert,
        ca_key,
    } = command;
    std::fs::create_dir_all(&out)?;
    let ca = match (ca_cert, ca_key) {
        (Some(cert), Some(key)) => certs::Pem {
            cert: std::fs::read_to_string(cert)?,
            key: std::fs::read_to_string(key)?,
        },
        _ => {
            let ca = certs::new_ca(&format!("{} development CA", settings.federation.name))?;
            write(&out.join("ca.pem"), &ca.cert, false)?;
            write(&out.join("ca.key"), &ca.key, true)?;
            ca
        }
    };
    let serial = u64::from_be_bytes(
        *uuid::Uuid::new_v4()
            .as_bytes()
            .first_chunk()
            .expect("16 bytes"),
    ) >> 1;
    let leaf = certs::issue(&ca, &settings.federation.name, &hosts, serial)?;
    write(&out.join("cert.pem"), &leaf.cert, false)?;
    write(&out.join("key.pem"), &leaf.key, true)?;
    let der = rustls::pki_types::CertificateDer::pem_slice_iter(leaf.cert.as_bytes())
        .next()
        .context("the new certificate")??;
    let identity = PeerIdentity::from_der(&der).context("parsing the new certificate")?;
    let core: Core = build_core(settings, false).await?;
    let key = crate::http::federation::instance_key(&core).await?;
    let dir = out.display();
    println!("Certificate: {dir}/cert.pem (key {dir}/key.pem, CA {dir}/ca.pem)\n");
    println!(
        "Give peers these, for `caravan peer add {} --url https://HOST:PORT ...`:",
        settings.federation.name
    );
    println!(
        "  --subject \"{}\"\n  --fingerprint {}\n  --signing-key {}\n",
        identity.subject,
        identity.fingerprint,
        key.public_key()
    );
    println!("And configure this instance with:\n");
    println!(
        "[federation]\nbind = \"127.0.0.1:9443\"\nname = \"{}\"\n",
        settings.federation.name
    );
    println!(
        "[federation.tls]\ncert = \"{dir}/cert.pem\"\nkey = \"{dir}/key.pem\"\nca = [\"{dir}/ca.pem\"]"
    );
    Ok(())
}

use rustls::pki_types::pem::PemObject;
