use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn addresses_fall_into_the_classes_the_policy_needs() {
    for (addr, class) in [
        ("8.8.8.8", Class::Public),
        ("2606:4700::1111", Class::Public),
        ("2001:4860::8888", Class::Public),
        ("127.0.0.1", Class::Loopback),
        ("127.200.0.9", Class::Loopback),
        ("::1", Class::Loopback),
        ("::ffff:127.0.0.1", Class::Loopback),
        ("64:ff9b::7f00:1", Class::Loopback),
        ("10.1.2.3", Class::Private),
        ("172.31.0.1", Class::Private),
        ("192.168.1.1", Class::Private),
        ("100.64.0.1", Class::Private),
        ("fd12:3456::1", Class::Private),
        ("169.254.169.254", Class::LinkLocal),
        ("fe80::1", Class::LinkLocal),
        ("fd00:ec2::254", Class::Metadata),
        ("100.100.100.200", Class::Metadata),
        ("0.0.0.0", Class::Other),
        ("::", Class::Other),
        ("255.255.255.255", Class::Other),
        ("224.0.0.1", Class::Other),
        ("ff02::1", Class::Other),
        ("192.0.2.1", Class::Other),
        ("2001:db8::1", Class::Other),
    ] {
        assert_eq!(classify(ip(addr)), class, "{addr}");
    }
}

#[test]
fn users_reach_public_addresses_only_and_admins_all_but_link_local_and_metadata() {
    let policy = OutboundPolicy::default();
    for public in ["8.8.8.8", "2606:4700::1111"] {
        assert!(policy.permits(Trust::User, ip(public)));
        assert!(policy.permits(Trust::Admin, ip(public)));
    }
    for inside in ["127.0.0.1", "10.0.0.1", "::ffff:192.168.0.1", "fd00::1"] {
        assert!(!policy.permits(Trust::User, ip(inside)), "{inside}");
        assert!(policy.permits(Trust::Admin, ip(inside)), "{inside}");
    }
    for never in [
        "169.254.169.254",
        "fe80::1",
        "fd00:ec2::254",
        "0.0.0.0",
        "::ffff:169.254.169.254",
    ] {
        assert!(!policy.permits(Trust::User, ip(never)), "{never}");
        assert!(!policy.permits(Trust::Admin, ip(never)), "{never}");
    }
}

#[test]
fn the_lists_open_and_close_ranges_and_deny_wins() {
    let policy = OutboundPolicy::from_lists(
        &["10.20.0.0/16".into(), "169.254.10.10".into()],
        &["10.20.30.0/24".into(), "203.0.113.0/24".into()],
    )
    .unwrap();
    assert!(policy.permits(Trust::User, ip("10.20.1.1")));
    assert!(policy.permits(Trust::User, ip("169.254.10.10")));
    assert!(!policy.permits(Trust::User, ip("10.20.30.1")), "deny wins");
    assert!(!policy.permits(Trust::Admin, ip("10.20.30.1")));
    assert!(!policy.permits(Trust::Admin, ip("203.0.113.7")));
    assert!(OutboundPolicy::from_lists(&["10.0.0.0/33".into()], &[]).is_err());
    assert!(OutboundPolicy::from_lists(&["localhost".into()], &[]).is_err());
}

#[test]
fn urls_with_refused_literal_hosts_or_other_schemes_are_refused_before_sending() {
    let policy = OutboundPolicy::default();
    assert_eq!(
        policy.check_url(Trust::User, "http://127.0.0.1:9/x"),
        Err(OutboundError::Refused)
    );
    assert_eq!(
        policy.check_url(Trust::User, "http://[::1]/"),
        Err(OutboundError::Refused)
    );
    assert_eq!(
        policy.check_url(Trust::User, "http://2130706433/"),
        Err(OutboundError::Refused),
        "127.0.0.1 as a number"
    );
    assert_eq!(
        policy.check_url(Trust::User, "http://0x7f.1/"),
        Err(OutboundError::Refused)
    );
    assert_eq!(
        policy.check_url(Trust::Admin, "http://169.254.169.254/latest/meta-data"),
        Err(OutboundError::Refused)
    );
    assert_eq!(
        policy.check_url(Trust::User, "file:///etc/passwd"),
        Err(OutboundError::BadUrl)
    );
    assert_eq!(
        policy.check_url(Trust::User, "gopher://example.com/"),
        Err(OutboundError::BadUrl)
    );
    assert_eq!(
        policy.check_url(Trust::User, "https://example.com/hook"),
        Ok(())
    );
    assert_eq!(
        policy.check_url(Trust::Admin, "http://127.0.0.1:8080/"),
        Ok(())
    );
}

#[tokio::test]
async fn names_that_resolve_to_refused_addresses_are_refused_and_ports_never_show() {
    // A listener on loopback: for a user-level client, "localhost" must be refused without
    // connecting; for an admin-level one, a closed port and an open one that is not HTTP both
    // read "unreachable".
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().port();
    let accepted = tokio::spawn(async move { listener.accept().await.is_ok() });
    let policy = OutboundPolicy::default();
    let user = policy.client(Trust::User, reqwest::Client::builder());
    let refused = policy
        .send(Trust::User, user.post(format!("http://localhost:{open}/")))
        .await
        .unwrap_err();
    assert_eq!(refused, OutboundError::Refused);
    assert_eq!(
        refused.to_string(),
        "refused by the outgoing-request policy"
    );
    assert!(!accepted.is_finished(), "nothing connected");

    let closed = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let admin = policy.client(
        Trust::Admin,
        reqwest::Client::builder().timeout(Duration::from_secs(2)),
    );
    let to_closed = policy
        .send(
            Trust::Admin,
            admin.post(format!("http://localhost:{closed}/")),
        )
        .await
        .unwrap_err();
    assert_eq!(to_closed, OutboundError::Unreachable);
    assert_eq!(to_closed.to_string(), "unreachable");
    // The open port accepts and hangs up without an answer: it reads the same.
    let to_open = policy
        .send(
            Trust::Admin,
            admin.post(format!("http://localhost:{open}/")),
        )
        .await
        .unwrap_err();
    assert_eq!(to_open, OutboundError::Unreachable);
    assert!(
        accepted.await.unwrap(),
        "the admin-level request did connect"
    );
}
