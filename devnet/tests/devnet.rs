//! fio-devnet through fio-peer's chain client (the same code that talks to a
//! real node), and its rejections with the node's error shapes.

use fio_devnet::{Genesis, GenesisAddress, Running};
use fio_peer::chain::{
    transaction_at, AddAddress, ChainClient, ChainConfig, ChainError, ChainId, FioError, Name,
    NodeError, PermissionLevel, RegAddress, TokenPubAddress, Transaction,
};
use fio_peer::crypto::PrivateKey;
use fio_peer::protocol::{FioAddress, InboxKind};
use serde_json::{json, Value};

const DEVNET: &str = "cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f";

struct Net {
    alice: PrivateKey,
    bob: PrivateKey,
    running: Running,
    client: ChainClient,
}

fn genesis(alice: &PrivateKey, bob: &PrivateKey) -> Genesis {
    Genesis {
        chain_id: None,
        domains: vec!["devnet".into()],
        addresses: vec![
            GenesisAddress {
                fio_address: "alice@devnet".into(),
                public_key: alice.public_key().to_fio_string(),
                bundles: None,
                expiration: None,
            },
            GenesisAddress {
                fio_address: "bob@devnet".into(),
                public_key: bob.public_key().to_fio_string(),
                bundles: Some(3),
                expiration: None,
            },
        ],
        ..Default::default()
    }
}

fn client(nodes: Vec<String>, agreement: usize) -> ChainClient {
    let mut config = ChainConfig::new(ChainId::parse(DEVNET).unwrap(), nodes);
    config.agreement = agreement;
    config.timeout = std::time::Duration::from_secs(5);
    ChainClient::new(config).unwrap()
}

async fn net() -> Net {
    let (alice, bob) = (PrivateKey::generate(), PrivateKey::generate());
    let running = Running::start(None, &genesis(&alice, &bob)).await.unwrap();
    let client = client(vec![running.url()], 1);
    Net {
        alice,
        bob,
        running,
        client,
    }
}

fn addr(s: &str) -> FioAddress {
    FioAddress::parse(s).unwrap()
}

fn url_entry(url: &str) -> TokenPubAddress {
    TokenPubAddress {
        token_code: "URL".into(),
        chain_code: "FIB".into(),
        public_address: url.into(),
    }
}

fn actor(key: &PrivateKey) -> Name {
    Name::parse(&key.public_key().account_name()).unwrap()
}

fn add_data(key: &PrivateKey, address: &str, url: &str) -> AddAddress {
    AddAddress {
        fio_address: address.into(),
        public_addresses: vec![url_entry(url)],
        max_fee: 0,
        actor: actor(key),
        tpid: String::new(),
    }
}

async fn raw(net: &Net, endpoint: &str, body: Value) -> (u16, Value) {
    fio_peer::chain::install_tls_provider();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chain/{endpoint}", net.running.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn fio_error(e: ChainError) -> FioError {
    match e {
        ChainError::Fio(f) => f,
        other => panic!("expected a FIO error, got {other:?}"),
    }
}

fn node_error(e: ChainError) -> NodeError {
    match e {
        ChainError::Node(n) => n,
        other => panic!("expected an EOSIO error, got {other:?}"),
    }
}

#[tokio::test]
async fn get_info_gives_the_chain_and_usable_tapos() {
    let net = net().await;
    let info = net.client.get_info().await.unwrap();
    assert_eq!(info.chain_id, DEVNET);
    assert!(info.last_irreversible_block_num <= info.head_block_num);
    assert_eq!(info.last_irreversible_block_id.len(), 64);
    let n = u32::from_str_radix(&info.last_irreversible_block_id[..8], 16).unwrap();
    assert_eq!(n as u64, info.last_irreversible_block_num);
    // A client configured for mainnet (http allowed, as in development)
    // refuses the devnet.
    let mainnet = ChainClient::new(ChainConfig {
        allow_http: true,
        ..ChainConfig::new(ChainId::MAINNET, vec![net.running.url()])
    })
    .unwrap();
    assert!(matches!(
        mainnet.get_info().await,
        Err(ChainError::WrongChain { .. })
    ));
}

#[tokio::test]
async fn inbox_registration_update_and_removal() {
    let net = net().await;
    let alice = addr("alice@devnet");
    assert_eq!(net.client.inbox(&alice).await.unwrap(), None);
    assert_eq!(
        net.client.fio_public_key(&alice).await.unwrap(),
        *net.alice.public_key()
    );

    let url = "https://relay.example/v1/inboxes/0123456789abcdef0123456789abcdef";
    let r = net
        .client
        .add_pub_address(&net.alice, "alice@devnet", vec![url_entry(url)], 0)
        .await
        .unwrap();
    assert_eq!(
        r.response.as_deref(),
        Some(r#"{"status": "OK","fee_collected":0}"#)
    );
    assert_eq!(r.transaction_id.len(), 64);
    net.client.invalidate(&alice);
    let inbox = net.client.inbox(&alice).await.unwrap().unwrap();
    assert_eq!((inbox.kind, inbox.address.as_str()), (InboxKind::Url, url));

    // addaddress is an upsert per (token, chain): one FIB/URL, the newest.
    let url2 = "https://other.example/v1/inboxes/ffffffffffffffffffffffffffffffff";
    net.client
        .add_pub_address(&net.alice, "alice@devnet", vec![url_entry(url2)], 0)
        .await
        .unwrap();
    let all = net
        .client
        .get_pub_addresses("alice@devnet", 0, 0)
        .await
        .unwrap();
    assert!(!all.more);
    let codes: Vec<_> = all
        .public_addresses
        .iter()
        .map(|a| {
            (
                a.chain_code.as_str(),
                a.token_code.as_str(),
                a.public_address.as_str(),
            )
        })
        .collect();
    let key = net.alice.public_key().to_fio_string();
    assert_eq!(
        codes,
        vec![("FIO", "FIO", key.as_str()), ("FIB", "URL", url2)]
    );
    // Cached until invalidated.
    assert_eq!(
        net.client.inbox(&alice).await.unwrap().unwrap().address,
        url
    );
    net.client.invalidate(&alice);
    assert_eq!(
        net.client.inbox(&alice).await.unwrap().unwrap().address,
        url2
    );

    // Paging: one per page, `more` until the last.
    let page = net
        .client
        .get_pub_addresses("alice@devnet", 1, 0)
        .await
        .unwrap();
    assert!(page.more && page.public_addresses.len() == 1);
    let e = fio_error(
        net.client
            .get_pub_addresses("alice@devnet", 1, 5)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.status, e.message.as_str()),
        (404, "Public Addresses not found")
    );

    // remaddress takes the exact triple.
    let e = fio_error(
        net.client
            .remove_pub_address(&net.alice, "alice@devnet", vec![url_entry(url)], 0)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.status, e.fields[0].name.as_str()),
        (400, "public_address")
    );
    net.client
        .remove_pub_address(&net.alice, "alice@devnet", vec![url_entry(url2)], 0)
        .await
        .unwrap();
    net.client.invalidate(&alice);
    assert_eq!(net.client.inbox(&alice).await.unwrap(), None);
}

#[tokio::test]
async fn regaddress_creates_a_handle_with_its_key() {
    let net = net().await;
    let carol = PrivateKey::generate();
    let r = net
        .client
        .register_fio_address(
            &net.alice,
            "carol@devnet",
            carol.public_key(),
            40_000_000_000,
        )
        .await
        .unwrap();
    assert!(r.response.unwrap().contains("\"status\": \"OK\""));
    assert_eq!(
        net.client
            .fio_public_key(&addr("carol@devnet"))
            .await
            .unwrap(),
        *carol.public_key()
    );
    let names = net
        .client
        .get_fio_names(&carol.public_key().to_fio_string())
        .await
        .unwrap();
    assert_eq!(names.fio_addresses.len(), 1);
    assert_eq!(names.fio_addresses[0].fio_address, "carol@devnet");
    assert_eq!(names.fio_addresses[0].expiration, "2106-02-07T06:28:15");
    assert_eq!(names.fio_addresses[0].remaining_bundled_tx, 100);
    // Carol now owns it: she can register her inbox, Alice cannot.
    net.client
        .add_pub_address(
            &carol,
            "carol@devnet",
            vec![url_entry("http://127.0.0.1:1/x")],
            0,
        )
        .await
        .unwrap();
    let e = fio_error(
        net.client
            .add_pub_address(
                &net.alice,
                "carol@devnet",
                vec![url_entry("http://evil/")],
                0,
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.status, e.error_type.as_deref()),
        (403, Some("invalid_signature"))
    );
    // Taken, and unknown domains.
    let e = fio_error(
        net.client
            .register_fio_address(&net.bob, "carol@devnet", net.bob.public_key(), 0)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.status, e.fields[0].error.as_str()),
        (400, "FIO address already registered")
    );
    let e = fio_error(
        net.client
            .register_fio_address(&net.bob, "dan@nowhere", net.bob.public_key(), 0)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.fields[0].error, "FIO Domain not registered");
    // Bundles count down.
    let names = net
        .client
        .get_fio_names(&net.bob.public_key().to_fio_string())
        .await
        .unwrap();
    assert_eq!(names.fio_addresses[0].remaining_bundled_tx, 3);
}

/// A signed push body for `actions`, with the header fields adjustable.
async fn signed(
    net: &Net,
    key: &PrivateKey,
    actions: Vec<fio_peer::chain::Action>,
    adjust: impl FnOnce(&mut Transaction),
) -> Value {
    let info = net.client.get_info().await.unwrap();
    let mut trx = transaction_at(&info, actions).unwrap();
    adjust(&mut trx);
    trx.sign(&ChainId::parse(DEVNET).unwrap(), key).push_body()
}

#[tokio::test]
async fn bad_transactions_get_the_nodes_error_shapes() {
    let net = net().await;
    let data = add_data(&net.alice, "alice@devnet", "https://a.example/");

    // Signed by another key: the declared authority is not satisfied.
    let body = signed(&net, &net.bob, vec![data.add_action()], |_| {}).await;
    let (status, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(status, 401);
    assert_eq!(v["message"], "UnAuthorized");
    assert_eq!(v["error"]["name"], "unsatisfied_authorization");
    assert_eq!(v["error"]["code"], 3090003);

    // Bob signs for himself, but the data's actor is Alice's account.
    let mut action = data.add_action();
    action.authorization = vec![PermissionLevel::active(actor(&net.bob))];
    let body = signed(&net, &net.bob, vec![action], |_| {}).await;
    let (status, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(
        (status, v["error"]["name"].as_str()),
        (500, Some("missing_auth_exception"))
    );

    // Expired, and too far in the future.
    let body = signed(&net, &net.alice, vec![data.add_action()], |t| {
        t.expiration -= 200
    })
    .await;
    let (status, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (500, Some("Internal Service Error"))
    );
    assert_eq!(v["error"]["code"], 3040005);
    assert_eq!(v["error"]["name"], "expired_tx_exception");
    let body = signed(&net, &net.alice, vec![data.add_action()], |t| {
        t.expiration += 7200
    })
    .await;
    let (_, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(v["error"]["name"], "tx_exp_too_far_exception");

    // TAPOS from another chain.
    let body = signed(&net, &net.alice, vec![data.add_action()], |t| {
        t.ref_block_prefix ^= 1
    })
    .await;
    let (_, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(v["error"]["code"], 3040007);

    // A signature over another chain id does not recover Alice.
    let info = net.client.get_info().await.unwrap();
    let trx = transaction_at(&info, vec![data.add_action()]).unwrap();
    let body = trx.sign(&ChainId::MAINNET, &net.alice).push_body();
    let (status, _) = raw(&net, "add_pub_address", body).await;
    assert_eq!(status, 401);

    // Unknown handle: the contract's 404; a malformed one: its 400.
    let body = signed(
        &net,
        &net.alice,
        vec![add_data(&net.alice, "zed@devnet", "https://a/").add_action()],
        |_| {},
    )
    .await;
    let (status, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(
        (status, v),
        (404, json!({"message": "FIO Address not found"}))
    );
    let body = signed(
        &net,
        &net.alice,
        vec![add_data(&net.alice, "no address", "https://a/").add_action()],
        |_| {},
    )
    .await;
    let (status, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(status, 400);
    assert_eq!(v["type"], "invalid_input");
    assert_eq!(
        v["fields"][0],
        json!({"name": "fio_address", "value": "no address", "error": "FIO Address not found"})
    );
    // A public address with a space.
    let body = signed(
        &net,
        &net.alice,
        vec![add_data(&net.alice, "alice@devnet", "https://a/ b").add_action()],
        |_| {},
    )
    .await;
    let (_, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(v["fields"][0]["error"], "Invalid public address format");

    // The wrong action for the endpoint, and a body with an extra key.
    let body = signed(&net, &net.alice, vec![data.remove_action()], |_| {}).await;
    let (status, v) = raw(&net, "add_pub_address", body.clone()).await;
    assert_eq!(
        (status, v["type"].as_str()),
        (403, Some("invalid_account_or_action"))
    );
    let mut extra = body;
    extra["extra"] = json!(1);
    let (status, v) = raw(&net, "add_pub_address", extra).await;
    assert_eq!(
        (status, v["type"].as_str()),
        (403, Some("invalid_transaction"))
    );
    // Two faults: the endpoint's own check comes first, as on the node.
    let body = signed(&net, &net.alice, vec![data.remove_action()], |t| {
        t.expiration -= 500
    })
    .await;
    let (status, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(
        (status, v["type"].as_str()),
        (403, Some("invalid_account_or_action"))
    );
    // Expired and badly signed: expiration is checked before signatures.
    let body = signed(&net, &net.bob, vec![data.add_action()], |t| {
        t.expiration -= 500
    })
    .await;
    let (_, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!(v["error"]["name"], "expired_tx_exception");
    // Badly signed and for a foreign handle: authorization before the contract.
    let foreign = add_data(&net.bob, "alice@devnet", "https://x/");
    let body = signed(&net, &net.alice, vec![foreign.add_action()], |_| {}).await;
    let (status, _) = raw(&net, "add_pub_address", body).await;
    assert_eq!(status, 401);
    // Garbage packed_trx on push_transaction.
    let (status, v) = raw(&net, "push_transaction", json!({"signatures": [], "compression": 0, "packed_context_free_data": "", "packed_trx": "00ff"})).await;
    assert_eq!(
        (status, v["error"]["name"].as_str()),
        (500, Some("packed_transaction_type_exception"))
    );

    // The same signed bytes twice: 409, which the client counts as done.
    let body = signed(&net, &net.alice, vec![data.add_action()], |_| {}).await;
    let (status, _) = raw(&net, "add_pub_address", body.clone()).await;
    assert_eq!(status, 202);
    let (status, v) = raw(&net, "add_pub_address", body).await;
    assert_eq!((status, v["message"].as_str()), (409, Some("Conflict")));
    assert_eq!(v["error"]["name"], "tx_duplicate");

    // The client surfaces all of this as typed errors.
    let e = node_error(
        net.client
            .push("add_pub_address", &{
                let info = net.client.get_info().await.unwrap();
                let mut t = transaction_at(&info, vec![data.add_action()]).unwrap();
                t.expiration -= 500;
                t.sign(&ChainId::parse(DEVNET).unwrap(), &net.alice)
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.status, e.code, e.name.as_str()),
        (500, 3040005, "expired_tx_exception")
    );
}

#[tokio::test]
async fn getters_validate_like_the_node() {
    let net = net().await;
    let (status, v) = raw(
        &net,
        "get_pub_address",
        json!({"fio_address": "bob", "chain_code": "FIO", "token_code": "FIO"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        v["fields"][0],
        json!({"name": "fio_address", "value": "bob", "error": "Invalid FIO Address"})
    );
    let (status, v) = raw(
        &net,
        "get_pub_address",
        json!({"fio_address": "bob@devnet", "chain_code": "FIB", "token_code": "URL"}),
    )
    .await;
    assert_eq!(
        (status, v),
        (404, json!({"message": "Public address not found"}))
    );
    let (_, v) = raw(
        &net,
        "get_pub_address",
        json!({"fio_address": "bob@devnet", "chain_code": "FIO", "token_code": "bad code"}),
    )
    .await;
    assert_eq!(v["fields"][0]["error"], "Invalid Token Code");
    // Lookups are case-insensitive on the handle and the codes.
    let (status, v) = raw(
        &net,
        "get_pub_address",
        json!({"fio_address": "BOB@devnet", "chain_code": "fio", "token_code": "fio"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["public_address"], net.bob.public_key().to_fio_string());
    let (status, v) = raw(
        &net,
        "get_pub_addresses",
        json!({"fio_address": "nobody@devnet"}),
    )
    .await;
    assert_eq!(
        (status, v),
        (404, json!({"message": "FIO Address does not exist"}))
    );
    let (status, v) = raw(
        &net,
        "get_fio_names",
        json!({"fio_public_key": PrivateKey::generate().public_key().to_fio_string()}),
    )
    .await;
    assert_eq!((status, v), (404, json!({"message": "No FIO names"})));
    let (status, v) = raw(&net, "get_fio_names", json!({"fio_public_key": "FIO123"})).await;
    assert_eq!(
        (status, v["fields"][0]["name"].as_str()),
        (400, Some("fio_public_key"))
    );
    let (status, v) = raw(&net, "get_nothing", json!({})).await;
    assert_eq!((status, v["message"].as_str()), (404, Some("Not Found")));
    assert_eq!(v["error"]["details"][0]["message"], "Unknown Endpoint");
    fio_peer::chain::install_tls_provider();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chain/get_pub_address", net.running.url()))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 500);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["name"], "parse_error_exception");
    // The key lookup of an unknown handle is the 404, typed.
    let e = net
        .client
        .fio_public_key(&addr("nobody@devnet"))
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn state_survives_a_restart_and_the_genesis_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("devnet.sqlite");
    let (alice, bob) = (PrivateKey::generate(), PrivateKey::generate());
    let g = genesis(&alice, &bob);
    let running = Running::start(Some(&db), &g).await.unwrap();
    let c = client(vec![running.url()], 1);
    c.add_pub_address(
        &alice,
        "alice@devnet",
        vec![url_entry("https://r.example/i")],
        0,
    )
    .await
    .unwrap();
    let head = c.get_info().await.unwrap().head_block_num;
    running.stop().await;

    let running = Running::start(Some(&db), &g).await.unwrap();
    let c = client(vec![running.url()], 1);
    let inbox = c.inbox(&addr("alice@devnet")).await.unwrap().unwrap();
    assert_eq!(inbox.address, "https://r.example/i");
    // The clock went on from where it was.
    assert!(c.get_info().await.unwrap().head_block_num >= head);
    running.stop().await;

    let other = genesis(&bob, &alice);
    assert!(Running::start(Some(&db), &other).await.is_err());
}

#[tokio::test]
async fn nodes_fail_over_and_must_agree_when_asked() {
    let (alice, bob) = (PrivateKey::generate(), PrivateKey::generate());
    let g = genesis(&alice, &bob);
    let a = Running::start(None, &g).await.unwrap();
    let b = Running::start(None, &g).await.unwrap();
    // A port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let alice_addr = addr("alice@devnet");

    // Failover: the dead node first.
    let c = client(vec![dead.clone(), a.url()], 1);
    assert_eq!(
        c.fio_public_key(&alice_addr).await.unwrap(),
        *alice.public_key()
    );
    c.add_pub_address(
        &alice,
        "alice@devnet",
        vec![url_entry("https://one.example/i")],
        0,
    )
    .await
    .unwrap();

    // Node b has another inbox for Alice: agreement of two fails.
    let cb = client(vec![b.url()], 1);
    cb.add_pub_address(
        &alice,
        "alice@devnet",
        vec![url_entry("https://two.example/i")],
        0,
    )
    .await
    .unwrap();
    let both = client(vec![a.url(), b.url()], 2);
    assert_eq!(
        both.fio_public_key(&alice_addr).await.unwrap(),
        *alice.public_key()
    );
    assert!(matches!(
        both.inbox(&alice_addr).await,
        Err(ChainError::Disagreement(_))
    ));
    // They agree once b matches.
    cb.add_pub_address(
        &alice,
        "alice@devnet",
        vec![url_entry("https://one.example/i")],
        0,
    )
    .await
    .unwrap();
    assert_eq!(
        both.inbox(&alice_addr).await.unwrap().unwrap().address,
        "https://one.example/i"
    );
    // Two needed, one reachable: unavailable, not a guess.
    let short = client(vec![dead.clone(), a.url()], 2);
    assert!(matches!(
        short.inbox(&alice_addr).await,
        Err(ChainError::Unavailable(_))
    ));
    // All dead.
    let none = client(vec![dead], 1);
    assert!(matches!(
        none.get_info().await,
        Err(ChainError::Unavailable(_))
    ));
}

#[tokio::test]
async fn regaddress_through_push_transaction_checks_the_payer_signature() {
    let net = net().await;
    let data = RegAddress {
        fio_address: "eve@devnet".into(),
        owner_fio_public_key: net.bob.public_key().to_fio_string(),
        max_fee: 0,
        actor: actor(&net.alice),
        tpid: String::new(),
    };
    let body = signed(&net, &net.bob, vec![data.action()], |_| {}).await;
    let (status, _) = raw(&net, "push_transaction", body).await;
    assert_eq!(status, 401);
    let body = signed(&net, &net.alice, vec![data.action()], |_| {}).await;
    let (status, v) = raw(&net, "push_transaction", body).await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(
        v["processed"]["action_traces"][0]["act"]["name"],
        "regaddress"
    );
}

#[tokio::test]
async fn mutated_transactions_are_refused_and_the_devnet_keeps_serving() {
    let net = net().await;
    let data = add_data(&net.alice, "alice@devnet", "https://a.example/");
    let body = signed(&net, &net.alice, vec![data.add_action()], |_| {}).await;
    let packed = hex::decode(body["packed_trx"].as_str().unwrap()).unwrap();
    let sig = body["signatures"][0].as_str().unwrap().to_string();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..300 {
        let mut b = body.clone();
        match i % 5 {
            // One flipped bit anywhere in the transaction.
            0 | 1 => {
                let mut p = packed.clone();
                let at = next() as usize % p.len();
                p[at] ^= 1 << (next() % 8);
                b["packed_trx"] = json!(hex::encode(p));
            }
            // Truncated or extended.
            2 => {
                let mut p = packed.clone();
                if next() % 2 == 0 {
                    p.truncate(next() as usize % p.len());
                } else {
                    p.push(next() as u8);
                }
                b["packed_trx"] = json!(hex::encode(p));
            }
            // A damaged signature.
            3 => {
                let mut chars: Vec<char> = sig.chars().collect();
                let at = 7 + next() as usize % (chars.len() - 7);
                chars[at] = if chars[at] == 'a' { 'b' } else { 'a' };
                b["signatures"] = json!([chars.into_iter().collect::<String>()]);
            }
            // Wrong JSON types.
            _ => {
                let key = [
                    "signatures",
                    "compression",
                    "packed_trx",
                    "packed_context_free_data",
                ][next() as usize % 4];
                b[key] = [
                    json!(null),
                    json!(7),
                    json!({"a": 1}),
                    json!([1, 2]),
                    json!("zz"),
                ][next() as usize % 5]
                    .clone();
            }
        }
        let (status, v) = raw(&net, "push_transaction", b.clone()).await;
        assert!(
            !(200..300).contains(&status),
            "mutation {i} was accepted: {b}"
        );
        assert!(v.is_object() || v.is_string(), "{v}");
    }
    // Still healthy, and the untouched transaction still goes through.
    let (status, _) = raw(&net, "push_transaction", body).await;
    assert_eq!(status, 202);
}
