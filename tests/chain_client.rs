//! The chain client against canned answers built from the JSON and error
//! shapes of a FIO node (../shared/research/fio-chain.md §2): large numbers
//! as strings, `more` as a boolean or an integer, both error families,
//! proxies that fail, nodes that lie or disagree. (Against fio-devnet:
//! devnet/tests/devnet.rs.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fio_peer::chain::{
    transaction_at, AddAddress, ChainClient, ChainConfig, ChainError, ChainId, Name,
    TokenPubAddress,
};
use fio_peer::crypto::PrivateKey;
use fio_peer::protocol::FioAddress;
use fio_peer::wallet::{DirectoryError, KeyDirectory};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// (status, content type, body) for a request (path, JSON body).
type Handler = dyn Fn(&str, &Value) -> (u16, &'static str, String) + Send + Sync;

/// A canned HTTP/1.1 server; it records every request.
struct Canned {
    url: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    _rt: tokio::runtime::Runtime,
}

impl Canned {
    fn start(
        handler: impl Fn(&str, &Value) -> (u16, &'static str, String) + Send + Sync + 'static,
    ) -> Canned {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handler: Arc<Handler> = Arc::new(handler);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = requests.clone();
        rt.spawn(async move {
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                let (handler, log) = (handler.clone(), log.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let (head_end, length) = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map_or(0, |v| v.trim().parse().unwrap());
                            break (i + 4, length);
                        }
                    };
                    while buf.len() < head_end + length {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let path = head.split(' ').nth(1).unwrap_or("").to_string();
                    let body: Value = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
                    log.lock().unwrap().push((path.clone(), body.clone()));
                    let (status, ctype, text) = handler(&path, &body);
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                        text.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        Canned {
            url,
            requests,
            _rt: rt,
        }
    }

    fn json(handler: impl Fn(&str, &Value) -> (u16, Value) + Send + Sync + 'static) -> Canned {
        Canned::start(move |p, b| {
            let (status, v) = handler(p, b);
            (status, "application/json", v.to_string())
        })
    }

    fn count(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }
}

const CHAIN: &str = "21dcae42c0182200e93f954a074011f9048a7624c6fe81d3c9541a614a88bd1c";

/// A configuration for canned nodes on loopback: http, allowed as in
/// development (mainnet and testnet otherwise require https).
fn local(chain: ChainId, nodes: Vec<String>) -> ChainConfig {
    ChainConfig {
        allow_http: true,
        ..ChainConfig::new(chain, nodes)
    }
}

fn client(nodes: &[&Canned], agreement: usize) -> ChainClient {
    let mut config = local(
        ChainId::MAINNET,
        nodes.iter().map(|n| n.url.clone()).collect(),
    );
    config.agreement = agreement;
    config.timeout = Duration::from_secs(5);
    ChainClient::new(config).unwrap()
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn info() -> Value {
    json!({"server_version":"8578680f","chain_id":CHAIN,"head_block_num":"5000000000",
        "last_irreversible_block_num":1201656,
        "last_irreversible_block_id":"001255f8d3e90e4573265d5ee71a64d6a20dccee5226a0c2e30b4c0a1b082068",
        "head_block_id":"00125620fac409486e7fea1bebb0b506f8beb679b250a76e95e6f50d02e85d3f",
        "head_block_time":"2019-09-27T15:28:43.500","head_block_producer":"5spujqoyq4ie",
        "virtual_block_cpu_limit":200000000,"virtual_block_net_limit":1048576000,"block_cpu_limit":199900,
        "block_net_limit":1048576,"server_version_string":"v1.2.1-2421-g92993a283",
        "fork_db_head_block_num":1201696,"fork_db_head_block_id":"00125620fac409486e7fea1bebb0b506f8beb679b250a76e95e6f50d02e85d3f"})
}

fn invalid_input(name: &str, value: &str, error: &str) -> Value {
    json!({"type":"invalid_input","message":"An invalid request was sent in, please check the nested errors for details.",
        "fields":[{"name":name,"value":value,"error":error}]})
}

fn eosio(status: u16, code: u64, name: &str, what: &str) -> Value {
    json!({"code":status,"message":"Internal Service Error","error":{"code":code,"name":name,"what":what,
        "details":[{"message":"expired transaction abc","file":"producer_plugin.cpp","line_number":378,"method":"process_incoming_transaction_async"}]}})
}

#[test]
fn get_info_reads_big_numbers_sent_as_strings_and_checks_the_chain() {
    let node = Canned::json(|_, _| (200, info()));
    let c = client(&[&node], 1);
    let i = block_on(c.get_info()).unwrap();
    assert_eq!(i.head_block_num, 5_000_000_000);
    assert_eq!(i.last_irreversible_block_num, 1_201_656);
    // TAPOS and expiration come from it as fio-chain.md §3.4 says.
    let trx = transaction_at(&i, vec![]).unwrap();
    assert_eq!(
        (trx.ref_block_num, trx.ref_block_prefix),
        (22008, 1_583_162_995)
    );
    assert_eq!(trx.expiration, 1_569_598_123 + 180);

    let testnet = ChainClient::new(local(ChainId::TESTNET, vec![node.url.clone()])).unwrap();
    match block_on(testnet.get_info()) {
        Err(ChainError::WrongChain { found, .. }) => assert_eq!(found, CHAIN),
        other => panic!("{other:?}"),
    }
}

#[test]
fn getters_read_the_node_shapes() {
    let node = Canned::json(|path, body| match path {
        "/v1/chain/get_info" => (200, info()),
        "/v1/chain/get_pub_addresses" if body["offset"] == 0 => (
            200,
            json!({"public_addresses":[
            {"chain_code":"FIO","token_code":"FIO","public_address":"FIO6cp3e..."},
            {"chain_code":"FIB","token_code":"URL","public_address":"https://inbox.example/x"}],"more":false}),
        ),
        // FIP-13 and the TS SDK have `more` as an integer.
        "/v1/chain/get_pub_addresses" => (200, json!({"public_addresses":[], "more": 1})),
        "/v1/chain/get_fio_names" => (
            200,
            json!({
            "fio_domains":[{"fio_domain":"alice","expiration":"2020-09-11T18:30:56","is_public":0}],
            "fio_addresses":[{"fio_address":"purse@alice","expiration":"2106-02-07T06:28:15","remaining_bundled_tx":"4294967296"}]}),
        ),
        _ => (
            404,
            json!({"code":404,"message":"Not Found","error":{"code":0,"name":"exception","what":"unspecified","details":[{"message":"Unknown Endpoint","file":"http_plugin.cpp","line_number":1,"method":"handle_http_request"}]}}),
        ),
    });
    let c = client(&[&node], 1);
    let all = block_on(c.get_pub_addresses("alice@wallet", 0, 0)).unwrap();
    assert!(!all.more);
    assert_eq!(all.public_addresses[1].token_code, "URL");
    assert!(
        block_on(c.get_pub_addresses("alice@wallet", 1, 5))
            .unwrap()
            .more
    );
    let names =
        block_on(c.get_fio_names("FIO8PRe4WRZJj5mkem6qVGKyvNFgPsNnjNN6kPhh6EaCpzCVin5Jj")).unwrap();
    assert_eq!(names.fio_domains[0].is_public, 0);
    assert_eq!(names.fio_addresses[0].remaining_bundled_tx, 4_294_967_296);
    // The request bodies are the node's parameter names (after the node's
    // get_info, which checks its chain once).
    let reqs: Vec<_> = node
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p != "/v1/chain/get_info")
        .cloned()
        .collect();
    assert_eq!(node.count("/v1/chain/get_info"), 1);
    assert_eq!(
        reqs[0].1,
        json!({"fio_address":"alice@wallet","limit":0,"offset":0})
    );
    assert_eq!(
        reqs[2].1,
        json!({"fio_public_key":"FIO8PRe4WRZJj5mkem6qVGKyvNFgPsNnjNN6kPhh6EaCpzCVin5Jj"})
    );
    // An endpoint the node does not have.
    match block_on(c.get_pub_address("a@b", "FIO", "FIO")) {
        Err(ChainError::Node(e)) => {
            assert_eq!((e.status, e.message.as_str()), (404, "Not Found"));
            assert_eq!(e.details, vec!["Unknown Endpoint".to_string()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn both_error_families_become_typed_errors() {
    let node = Canned::start(|path, body| {
        let j = |s: u16, v: Value| (s, "application/json", v.to_string());
        match (path, body["fio_address"].as_str()) {
            ("/v1/chain/get_pub_address", Some("bob")) => j(
                400,
                invalid_input("fio_address", "bob", "Invalid FIO Address"),
            ),
            ("/v1/chain/get_pub_address", Some("gone@x")) => {
                j(404, json!({"message":"Public address not found"}))
            }
            ("/v1/chain/get_pub_address", _) => j(
                403,
                json!({"type":"invalid_signature","message":"Request signature is not valid or this user is not allowed to sign this transaction."}),
            ),
            ("/v1/chain/get_info", _) => j(200, info()),
            ("/v1/chain/push_transaction", _) => j(
                500,
                eosio(500, 3040005, "expired_tx_exception", "Expired Transaction"),
            ),
            ("/v1/chain/add_pub_address", _) => (
                403,
                "text/plain",
                "fio_invalid_trans_exception: bad packed trx".into(),
            ),
            ("/v1/chain/remove_pub_address", _) => j(
                401,
                json!({"code":401,"message":"UnAuthorized","error":{"code":3090003,"name":"unsatisfied_authorization","what":"Provided keys, permissions, and delays do not satisfy declared authorizations","details":[]}}),
            ),
            _ => j(200, json!({"garbage": true})),
        }
    });
    let c = client(&[&node], 1);
    match block_on(c.get_pub_address("bob", "FIO", "FIO")) {
        Err(ChainError::Fio(e)) => {
            assert_eq!(
                (e.status, e.error_type.as_deref()),
                (400, Some("invalid_input"))
            );
            assert_eq!(e.fields[0].name, "fio_address");
            assert_eq!(e.fields[0].value, "bob");
            assert_eq!(e.fields[0].error, "Invalid FIO Address");
        }
        other => panic!("{other:?}"),
    }
    let e = block_on(c.get_pub_address("gone@x", "FIO", "FIO")).unwrap_err();
    assert!(e.is_not_found());
    match block_on(c.get_pub_address("x@y", "FIO", "FIO")) {
        Err(ChainError::Fio(e)) => assert_eq!(
            (e.status, e.error_type.as_deref()),
            (403, Some("invalid_signature"))
        ),
        other => panic!("{other:?}"),
    }
    let key = PrivateKey::generate();
    let data = AddAddress {
        fio_address: "alice@wallet".into(),
        public_addresses: vec![TokenPubAddress {
            token_code: "URL".into(),
            chain_code: "FIB".into(),
            public_address: "https://x/".into(),
        }],
        max_fee: 0,
        actor: Name::parse(&key.public_key().account_name()).unwrap(),
        tpid: String::new(),
    };
    let trx = block_on(c.prepare(vec![data.add_action()])).unwrap();
    match block_on(c.push("push_transaction", &trx.sign(&ChainId::MAINNET, &key))) {
        Err(ChainError::Node(e)) => {
            assert_eq!(
                (e.status, e.code, e.name.as_str(), e.what.as_str()),
                (500, 3040005, "expired_tx_exception", "Expired Transaction")
            );
            assert_eq!(e.details, vec!["expired transaction abc".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    // add_pub_address answers an unpackable body with plain text.
    match block_on(c.add_pub_address(&key, "alice@wallet", data.public_addresses.clone(), 0)) {
        Err(ChainError::Fio(e)) => {
            assert_eq!((e.status, e.error_type), (403, None));
            assert!(e.message.contains("fio_invalid_trans_exception"));
        }
        other => panic!("{other:?}"),
    }
    match block_on(c.remove_pub_address(&key, "alice@wallet", data.public_addresses.clone(), 0)) {
        Err(ChainError::Node(e)) => assert_eq!(
            (e.status, e.name.as_str()),
            (401, "unsatisfied_authorization")
        ),
        other => panic!("{other:?}"),
    }
    // A success answer without the fields: not the FIO API.
    assert!(matches!(
        block_on(c.get_fio_names("FIO8PRe4WRZJj5mkem6qVGKyvNFgPsNnjNN6kPhh6EaCpzCVin5Jj")),
        Err(ChainError::InvalidResponse { .. })
    ));
    assert!(matches!(
        block_on(c.get_pub_addresses("a@b", 0, 0)),
        Err(ChainError::InvalidResponse { .. })
    ));
    // The push body is the one push_transaction takes.
    let pushed = node
        .requests
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _)| p == "/v1/chain/push_transaction")
        .unwrap()
        .1
        .clone();
    let mut keys: Vec<&str> = pushed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "compression",
            "packed_context_free_data",
            "packed_trx",
            "signatures"
        ]
    );
}

#[test]
fn a_push_answered_409_was_already_accepted_and_the_trace_response_is_read() {
    let accepted = Canned::json(|path, _| match path {
        "/v1/chain/get_info" => (200, info()),
        _ => (
            202,
            json!({"transaction_id":"ab","processed":{"id":"ab","block_num":5,"action_traces":[
            {"receipt":{"receiver":"fio.address","response":"{\"status\": \"OK\",\"fee_collected\":0}","global_sequence":"5000000000"}}]}}),
        ),
    });
    let duplicate = Canned::json(|path, _| match path {
        "/v1/chain/get_info" => (200, info()),
        _ => (
            409,
            json!({"code":409,"message":"Conflict","error":{"code":3040008,"name":"tx_duplicate","what":"Duplicate transaction","details":[]}}),
        ),
    });
    let key = PrivateKey::generate();
    let entries = vec![TokenPubAddress {
        token_code: "URL".into(),
        chain_code: "FIB".into(),
        public_address: "https://x/".into(),
    }];
    let r =
        block_on(client(&[&accepted], 1).add_pub_address(&key, "alice@wallet", entries.clone(), 0))
            .unwrap();
    assert_eq!(
        (r.transaction_id.as_str(), r.response.as_deref()),
        ("ab", Some("{\"status\": \"OK\",\"fee_collected\":0}"))
    );
    assert!(!r.already_accepted);
    let r = block_on(client(&[&duplicate], 1).add_pub_address(&key, "alice@wallet", entries, 0))
        .unwrap();
    assert!(r.already_accepted && r.response.is_none());
    assert_eq!(r.transaction_id.len(), 64);
}

#[test]
fn failing_nodes_are_skipped_and_all_failing_is_unavailable() {
    let proxy_error = Canned::start(|_, _| (502, "text/html", "<html>Bad Gateway</html>".into()));
    let overloaded = Canned::start(|_, _| (429, "text/plain", "slow down".into()));
    let good = Canned::json(|_, _| (200, info()));
    let c = client(&[&proxy_error, &overloaded, &good], 1);
    assert_eq!(block_on(c.get_info()).unwrap().chain_id, CHAIN);
    assert_eq!(good.count("/v1/chain/get_info"), 1);
    let c = client(&[&proxy_error, &overloaded], 1);
    match block_on(c.get_info()) {
        Err(ChainError::Unavailable(why)) => {
            assert!(why.contains("502") && why.contains("429"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // A node that answers without end is cut off and skipped.
    let flood = Canned::start(|_, _| {
        (
            200,
            "application/json",
            format!("{{\"x\":\"{}\"}}", "a".repeat(3 << 20)),
        )
    });
    let c = client(&[&flood, &good], 1);
    assert_eq!(block_on(c.get_info()).unwrap().chain_id, CHAIN);
    match block_on(client(&[&flood], 1).get_info()) {
        Err(ChainError::Unavailable(why)) => assert!(why.contains("larger than"), "{why}"),
        other => panic!("{other:?}"),
    }
    // A FIO error is an answer: it is not retried elsewhere.
    let refusing = refusing_node("x");
    let c = client(&[&refusing, &good], 1);
    assert!(matches!(
        block_on(c.get_pub_address("x", "FIO", "FIO")),
        Err(ChainError::Fio(_))
    ));
    assert_eq!(good.count("/v1/chain/get_pub_address"), 0);
}

/// A node of the right chain that refuses every lookup with a FIO 400.
fn refusing_node(value: &'static str) -> Canned {
    Canned::json(move |path, _| match path {
        "/v1/chain/get_info" => (200, info()),
        _ => (
            400,
            invalid_input("fio_address", value, "Invalid FIO Address"),
        ),
    })
}

fn key_node(key: String) -> Canned {
    Canned::json(
        move |path, body| match (path, body["chain_code"].as_str()) {
            ("/v1/chain/get_info", _) => (200, info()),
            ("/v1/chain/get_pub_address", Some("FIO")) => (200, json!({"public_address": key})),
            _ => (404, json!({"message":"Public address not found"})),
        },
    )
}

#[test]
fn lookups_are_validated_cached_and_checked_for_agreement() {
    let alice = FioAddress::parse("alice@wallet").unwrap();
    let k1 = PrivateKey::generate().public_key().to_fio_string();
    let k2 = PrivateKey::generate().public_key().to_fio_string();
    let a = key_node(k1.clone());
    let b = key_node(k1.clone());
    let liar = key_node(k2);
    let junk = key_node("not a key".into());

    // Cached: one request for two lookups.
    let c = client(&[&a], 1);
    assert_eq!(
        block_on(c.fio_public_key(&alice)).unwrap().to_fio_string(),
        k1
    );
    assert_eq!(
        block_on(c.fio_public_key(&alice)).unwrap().to_fio_string(),
        k1
    );
    assert_eq!(a.count("/v1/chain/get_pub_address"), 1);
    // No inbox: FIB/URL then FIB/IPA were asked, and the answer is None.
    assert_eq!(block_on(c.inbox(&alice)).unwrap(), None);
    assert_eq!(a.count("/v1/chain/get_pub_address"), 3);
    // A TTL of zero asks every time.
    let mut config = local(ChainId::MAINNET, vec![b.url.clone()]);
    config.cache_ttl = Duration::ZERO;
    let uncached = ChainClient::new(config).unwrap();
    block_on(uncached.fio_public_key(&alice)).unwrap();
    block_on(uncached.fio_public_key(&alice)).unwrap();
    assert_eq!(b.count("/v1/chain/get_pub_address"), 2);

    // Agreement: two honest nodes agree; an honest and a lying one do not.
    assert!(block_on(client(&[&a, &b], 2).fio_public_key(&alice)).is_ok());
    assert!(matches!(
        block_on(client(&[&a, &liar], 2).fio_public_key(&alice)),
        Err(ChainError::Disagreement(_))
    ));
    // FIO/FIO is owner-controlled: a mapping that is not a key is refused.
    assert!(matches!(
        block_on(client(&[&junk], 1).fio_public_key(&alice)),
        Err(ChainError::InvalidMapping { .. })
    ));
    // For the engine that is a sender without a usable key (the envelope is
    // refused), not an outage.
    let dir: Arc<dyn KeyDirectory> = Arc::new(client(&[&junk], 1));
    assert!(matches!(
        dir.public_key(&alice),
        Err(DirectoryError::NotFound(_))
    ));
    // The built-in configurations are valid.
    for config in [ChainConfig::mainnet(), ChainConfig::testnet()] {
        assert!(config.nodes.iter().all(|n| n.starts_with("https://")));
        ChainClient::new(config).unwrap();
    }
    assert_eq!(ChainConfig::testnet().chain_id, ChainId::TESTNET);
    // Configuration mistakes are typed errors, not panics.
    assert!(matches!(
        ChainClient::new(ChainConfig::new(ChainId::MAINNET, vec![])),
        Err(ChainError::InvalidInput(_))
    ));
    assert!(matches!(
        ChainClient::new(ChainConfig::new(ChainId::MAINNET, vec!["ftp://x".into()])),
        Err(ChainError::InvalidInput(_))
    ));
    let mut two = local(ChainId::MAINNET, vec![a.url.clone()]);
    two.agreement = 2;
    assert!(matches!(
        ChainClient::new(two),
        Err(ChainError::InvalidInput(_))
    ));
}

#[test]
fn the_client_is_the_engines_key_directory_from_any_thread() {
    let key = PrivateKey::generate();
    let node = key_node(key.public_key().to_fio_string());
    let c = client(&[&node], 1);
    let dir: Arc<dyn KeyDirectory> = Arc::new(c);
    let alice = FioAddress::parse("alice@wallet").unwrap();
    // A plain thread.
    assert_eq!(dir.public_key(&alice).unwrap(), *key.public_key());
    assert_eq!(dir.inbox(&alice).unwrap(), None);
    // Inside a tokio task of another runtime: no "cannot block" panic.
    let bob = FioAddress::parse("bob@wallet").unwrap();
    let d = dir.clone();
    let found = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            tokio::spawn(async move { d.public_key(&bob) })
                .await
                .unwrap()
        });
    assert_eq!(found.unwrap(), *key.public_key());
    // Unreachable chain: Unavailable, so the engine leaves the envelope for later.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let offline: Arc<dyn KeyDirectory> =
        Arc::new(ChainClient::new(local(ChainId::MAINNET, vec![dead])).unwrap());
    assert!(matches!(
        offline.public_key(&alice),
        Err(DirectoryError::Unavailable(_))
    ));
    let nothing = Canned::json(|path, _| match path {
        "/v1/chain/get_info" => (200, info()),
        _ => (404, json!({"message":"Public address not found"})),
    });
    let none: Arc<dyn KeyDirectory> = Arc::new(client(&[&nothing], 1));
    assert!(matches!(
        none.public_key(&alice),
        Err(DirectoryError::NotFound(_))
    ));
}

#[test]
fn pages_that_are_not_the_fio_api_are_not_answers() {
    let alice = FioAddress::parse("alice@wallet").unwrap();
    let key = PrivateKey::generate().public_key().to_fio_string();
    let good = key_node(key.clone());
    // A CDN's 404 page, a parked domain's 400, a 404 JSON that is not FIO's.
    let cdn = Canned::start(|_, _| (404, "text/html", "<h1>Not Found</h1>".into()));
    let parked = Canned::start(|_, _| (400, "text/html", "Bad Request".into()));
    let other_json = Canned::json(|_, _| (404, json!({"message": "no route", "path": "/v1"})));
    for broken in [&cdn, &parked, &other_json] {
        // Never "not registered": the next node is asked.
        let c = client(&[broken, &good], 1);
        assert_eq!(
            block_on(c.fio_public_key(&alice)).unwrap().to_fio_string(),
            key
        );
        match block_on(client(&[broken], 1).fio_public_key(&alice)) {
            Err(ChainError::Unavailable(why)) => {
                assert!(why.contains("not a FIO API answer"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }
    // A node of the right chain whose lookups hit a portal's 200 page or a
    // firewall's 403 page: not an answer, never "no such key".
    for (status, page) in [
        (200u16, "<html>login</html>"),
        (403, "<html>forbidden</html>"),
    ] {
        let portal = Canned::start(move |path, _| match path {
            "/v1/chain/get_info" => (200, "application/json", info().to_string()),
            _ => (status, "text/html", page.into()),
        });
        let c = client(&[&portal, &good], 1);
        assert_eq!(
            block_on(c.fio_public_key(&alice)).unwrap().to_fio_string(),
            key
        );
        let alone: Arc<dyn KeyDirectory> = Arc::new(client(&[&portal], 1));
        assert!(
            matches!(
                alone.public_key(&alice),
                Err(DirectoryError::Unavailable(_))
            ),
            "{status}"
        );
    }
    // A redirect is not followed (a captive portal must not answer for a node).
    let portal = Canned::start(|_, _| (302, "text/html", String::new()));
    assert!(matches!(
        block_on(client(&[&portal], 1).get_info()),
        Err(ChainError::Unavailable(_))
    ));
}

#[test]
fn a_refusal_is_one_nodes_answer_under_the_agreement_check() {
    let alice = FioAddress::parse("alice@wallet").unwrap();
    let key = PrivateKey::generate().public_key().to_fio_string();
    let good = key_node(key);
    let refusing = refusing_node("alice@wallet");
    // One node refusing cannot decide alone when two must agree.
    assert!(matches!(
        block_on(client(&[&refusing, &good], 2).fio_public_key(&alice)),
        Err(ChainError::Disagreement(_))
    ));
    let refusing2 = refusing_node("alice@wallet");
    assert!(matches!(
        block_on(client(&[&refusing, &refusing2], 2).fio_public_key(&alice)),
        Err(ChainError::Fio(_))
    ));
}

#[test]
fn after_the_chain_was_unreachable_lookups_fail_fast_for_a_moment() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let c = ChainClient::new(local(ChainId::MAINNET, vec![dead])).unwrap();
    let a = FioAddress::parse("a@wallet").unwrap();
    let b = FioAddress::parse("b@wallet").unwrap();
    match block_on(c.fio_public_key(&a)) {
        Err(ChainError::Unavailable(why)) => assert!(why.contains("nodes needed"), "{why}"),
        other => panic!("{other:?}"),
    }
    // The next lookup does not try the network again.
    match block_on(c.fio_public_key(&b)) {
        Err(ChainError::Unavailable(why)) => assert!(why.contains("moments ago"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_node_of_another_chain_is_never_asked_for_keys() {
    let alice = FioAddress::parse("alice@wallet").unwrap();
    let key = PrivateKey::generate().public_key().to_fio_string();
    let honest = key_node(key.clone());
    // A testnet node in a mainnet list, answering lookups with its own data.
    let testnet = Canned::json(|path, _| match path {
        "/v1/chain/get_info" => {
            let mut i = info();
            i["chain_id"] = json!(ChainId::TESTNET.to_hex());
            (200, i)
        }
        _ => (
            200,
            json!({"public_address": PrivateKey::generate().public_key().to_fio_string()}),
        ),
    });
    let c = client(&[&testnet, &honest], 1);
    assert_eq!(
        block_on(c.fio_public_key(&alice)).unwrap().to_fio_string(),
        key
    );
    assert_eq!(testnet.count("/v1/chain/get_pub_address"), 0);
    match block_on(client(&[&testnet], 1).fio_public_key(&alice)) {
        Err(ChainError::Unavailable(why)) => assert!(why.contains("serves chain"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Checked once per node.
    block_on(c.get_pub_addresses("alice@wallet", 0, 0)).ok();
    assert_eq!(honest.count("/v1/chain/get_info"), 1);
}

#[test]
fn mainnet_and_testnet_nodes_must_be_https_unless_development_allows_http() {
    for chain in [ChainId::MAINNET, ChainId::TESTNET] {
        let config = ChainConfig::new(chain, vec!["http://node.example".into()]);
        match ChainClient::new(config.clone()) {
            Err(ChainError::InvalidInput(m)) => assert_eq!(
                m,
                "\"http://node.example\" is http: mainnet and testnet nodes must be https"
            ),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("an http mainnet/testnet node was accepted"),
        }
        ChainClient::new(ChainConfig {
            allow_http: true,
            ..config
        })
        .unwrap();
        ChainClient::new(ChainConfig::new(chain, vec!["https://node.example".into()])).unwrap();
    }
    // Another chain (a devnet, a private chain) is development already.
    let devnet = ChainId::parse(&"ab".repeat(32)).unwrap();
    ChainClient::new(ChainConfig::new(devnet, vec!["http://127.0.0.1:1".into()])).unwrap();
}
