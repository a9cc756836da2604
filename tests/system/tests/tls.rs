//! TLS to chain nodes and relays is verified with the platform's trust
//! (src/chain/tls.rs): a devnet and a relay behind TLS proxies whose
//! certificate a test CA issued are refused with the default trust, and
//! reached once the CA is added the platform's way on Linux (SSL_CERT_FILE,
//! read by the system verifier). Each sync runs in its own process
//! (sync-once), as an app would, so the environment it reads is its own.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use fio_peer::crypto::PrivateKey;
use fio_peer::protocol::{FioAddress, InboxLocation};
use fio_peer::wallet::KeyDirectory;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use support::{World, DEVNET_CHAIN};

/// A test CA (PEM) and a server configuration with a certificate it issued
/// for `localhost`.
fn test_pki() -> (String, Arc<rustls::ServerConfig>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fio-peer test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params.signed_by(&leaf_key, &*ca).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    )
    .unwrap();
    (ca.pem(), Arc::new(server))
}

/// Terminates TLS on a loopback port and forwards the bytes to `backend`.
struct TlsProxy {
    _rt: tokio::runtime::Runtime,
    port: u16,
}

impl TlsProxy {
    fn start(backend: SocketAddr, config: Arc<rustls::ServerConfig>) -> TlsProxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        rt.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
        TlsProxy { _rt: rt, port }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

fn backend(http_url: &str) -> SocketAddr {
    http_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

/// One sync of `name`'s wallet in its own process, with the chain node and
/// the relay at `node` and `relay`, and `cert_file` as SSL_CERT_FILE.
fn sync_once(
    world: &World,
    name: &str,
    key: &PrivateKey,
    node: &str,
    relay: &str,
    cert_file: Option<&Path>,
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sync-once"));
    command
        .arg(world.dir.path().join(format!("{name}.sqlite")))
        .arg(key.to_wif().as_str())
        .arg(format!("{name}@devnet"))
        .arg(DEVNET_CHAIN)
        .arg(node)
        .arg(relay)
        .arg("0")
        // Only the system's own trust, or the test CA's file.
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    if let Some(file) = cert_file {
        command.env("SSL_CERT_FILE", file);
    }
    command.output().unwrap()
}

/// The inbox the chain shows for `address`, asked afresh (a new client, no
/// cache).
fn registered_inbox(world: &World, address: &str) -> Option<InboxLocation> {
    KeyDirectory::inbox(&world.chain(), &FioAddress::parse(address).unwrap()).unwrap()
}

/// A world of one party whose devnet and relay are behind TLS proxies with
/// a test CA's certificate, the CA's PEM written beside them.
struct Behind {
    key: PrivateKey,
    world: World,
    node: TlsProxy,
    relay: TlsProxy,
    ca_file: std::path::PathBuf,
}

impl Behind {
    fn tls(name: &str) -> Behind {
        let key = PrivateKey::generate();
        let world = World::new(&[(name, &key)]);
        let (ca_pem, server) = test_pki();
        let node = TlsProxy::start(backend(&world.devnet_url), server.clone());
        let relay = TlsProxy::start(backend(&world.relays[0].url()), server);
        let ca_file = world.dir.path().join("test-ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        Behind {
            key,
            world,
            node,
            relay,
            ca_file,
        }
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_node_and_relay_with_an_unknown_ca_are_refused_until_the_ca_is_trusted_the_platforms_way() {
    let Behind {
        key: alice,
        world,
        node,
        relay,
        ca_file,
    } = Behind::tls("alice");

    // The default trust: the system's CAs and Mozilla's, not the test CA.
    let refused = sync_once(&world, "alice", &alice, &node.url(), &relay.url(), None);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("invalid peer certificate: UnknownIssuer"),
        "the error says why: {}",
        stderr(&refused)
    );
    // Nothing was registered: the chain shows no inbox for alice.
    assert_eq!(registered_inbox(&world, "alice@devnet"), None);

    // The CA added as Linux adds one (a CA file the system's TLS reads):
    // the relay gives alice an inbox and the chain records it.
    let accepted = sync_once(
        &world,
        "alice",
        &alice,
        &node.url(),
        &relay.url(),
        Some(&ca_file),
    );
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    let report: serde_json::Value = serde_json::from_slice(&accepted.stdout).unwrap();
    assert_eq!(report["registered"], true, "{report}");
    assert!(registered_inbox(&world, "alice@devnet").is_some());
}

#[test]
fn a_certificate_for_another_name_is_refused_even_from_a_trusted_ca() {
    let Behind {
        key: bob,
        world,
        node,
        relay,
        ca_file,
    } = Behind::tls("bob");
    // The certificate names localhost; 127.0.0.1 is another name.
    let ip = |url: String| url.replace("localhost", "127.0.0.1");
    let output = sync_once(
        &world,
        "bob",
        &bob,
        &ip(node.url()),
        &ip(relay.url()),
        Some(&ca_file),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("invalid peer certificate: certificate not valid for name \"127.0.0.1\""),
        "{}",
        stderr(&output)
    );
}
