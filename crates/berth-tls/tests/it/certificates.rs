//! A machine's certificate set: what it contains and what it is valid for.

use berth_tls::{
    CertificateAuthority, KeyAlgorithm, LEAF_VALIDITY_DAYS, TlsError, covers, days_until_expiry,
    generate_machine_certificates, inspect, verify_chain,
};

use berth_testkit::machines;

#[test]
fn server_cert_verifies_against_its_own_ca_only() {
    let m = machines();
    verify_chain(&m.a.ca.cert_pem, &m.a.server.cert_pem).unwrap();
    verify_chain(&m.a.ca.cert_pem, &m.a.client.cert_pem).unwrap();
    // Guards the per-machine CA: A's certificates must mean nothing to B.
    let err = verify_chain(&m.b.ca.cert_pem, &m.a.server.cert_pem).unwrap_err();
    assert!(matches!(err, TlsError::NotSignedByCa { .. }), "{err}");
    let err = verify_chain(&m.b.ca.cert_pem, &m.a.client.cert_pem).unwrap_err();
    assert!(matches!(err, TlsError::NotSignedByCa { .. }), "{err}");
}

#[test]
fn server_cert_carries_the_sans_asked_for_plus_loopback() {
    let info = inspect(&machines().a.server.cert_pem).unwrap();
    assert_eq!(
        info.sans,
        [
            "192.0.2.10",
            "192.0.2.10.example.test",
            "localhost",
            "127.0.0.1"
        ]
    );
    assert!(!info.is_ca);
    assert_eq!(info.subject, "CN=192.0.2.10, O=berth");
}

#[test]
fn ca_is_named_for_its_machine_and_lasts_ten_years() {
    let info = inspect(&machines().a.ca.cert_pem).unwrap();
    assert!(info.is_ca);
    assert_eq!(info.subject, "CN=berth CA for a, O=berth");
    let days = (info.not_after - info.not_before).whole_days();
    // 3650 days plus the 10 minutes of clock-skew allowance.
    assert_eq!(days, 3650);
    assert!(info.sans.is_empty());
}

#[test]
fn leaves_expire_in_about_three_years_and_start_in_the_past() {
    let m = machines();
    for pem in [&m.a.server.cert_pem, &m.a.client.cert_pem] {
        let days = days_until_expiry(pem).unwrap();
        assert!(
            (i64::from(LEAF_VALIDITY_DAYS) - 1..=i64::from(LEAF_VALIDITY_DAYS)).contains(&days),
            "{days}"
        );
        let info = inspect(pem).unwrap();
        let skew = time::OffsetDateTime::now_utc() - info.not_before;
        assert!(
            skew >= time::Duration::minutes(9),
            "notBefore only {skew} ago"
        );
    }
}

#[test]
fn covers_ip_and_dns_sans() {
    let cert = &machines().a.server.cert_pem;
    assert!(covers(cert, "192.0.2.10").unwrap());
    assert!(covers(cert, "127.0.0.1").unwrap());
    assert!(covers(cert, "localhost").unwrap());
    assert!(covers(cert, "LOCALHOST").unwrap());
    assert!(covers(cert, "192.0.2.10.example.test").unwrap());
    assert!(!covers(cert, "192.0.2.11").unwrap());
    assert!(!covers(cert, "::1").unwrap());
    assert!(!covers(cert, "other.example.test").unwrap());
    // An IP written as a name is still an IP, not a DNS name.
    assert!(!covers(cert, "192.0.2.1").unwrap());
}

#[test]
fn ipv6_sans_are_ip_sans() {
    let ca = CertificateAuthority::generate("v6", KeyAlgorithm::EcdsaP256, 30).unwrap();
    let server = ca
        .issue_server(&["[2001:db8::7]".to_owned()], KeyAlgorithm::EcdsaP256, 30)
        .unwrap();
    assert!(covers(&server.cert_pem, "2001:db8:0::7").unwrap());
    assert!(covers(&server.cert_pem, "[2001:db8::7]").unwrap());
    assert_eq!(inspect(&server.cert_pem).unwrap().sans[0], "2001:db8::7");
}

#[test]
fn rsa_sets_verify_and_load_back() {
    let set = &machines().b_rsa;
    verify_chain(&set.ca.cert_pem, &set.server.cert_pem).unwrap();
    verify_chain(&set.ca.cert_pem, &set.client.cert_pem).unwrap();
    assert!(
        set.client
            .key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    // A stored RSA CA is usable again, e.g. for regenerate-certs.
    let ca = CertificateAuthority::from_pem(&set.ca.cert_pem, &set.ca.key_pem).unwrap();
    let client = ca
        .issue_client("again", KeyAlgorithm::EcdsaP256, 10)
        .unwrap();
    verify_chain(&set.ca.cert_pem, &client.cert_pem).unwrap();
}

#[test]
fn keys_are_unencrypted_pkcs8_as_dockerd_wants() {
    let m = machines();
    for pem in [&m.a.ca.key_pem, &m.a.server.key_pem, &m.a.client.key_pem] {
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        assert!(!pem.contains("ENCRYPTED"));
    }
}

#[test]
fn an_expired_certificate_fails_the_chain_check() {
    // berth never issues one, so make it with rcgen directly: a CA of 2015.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2015, 1, 1);
    params.not_after = rcgen::date_time_ymd(2016, 1, 1);
    let old = params.self_signed(&key).unwrap().pem();
    let err = verify_chain(&old, &old).unwrap_err();
    assert!(matches!(err, TlsError::NotValidNow { .. }), "{err}");
    assert!(err.to_string().contains("2016-01-01T00:00:00Z"), "{err}");
    assert!(days_until_expiry(&old).unwrap() < -365);
}

#[test]
fn a_bad_san_is_refused_with_its_name() {
    let err =
        generate_machine_certificates("m", &["bad name!".to_owned()], KeyAlgorithm::EcdsaP256)
            .unwrap_err();
    assert!(err.to_string().contains("bad name!"), "{err}");
}
