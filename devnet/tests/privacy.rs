//! FIP-3's twelve endpoints on fio-devnet: each with the FIP's request and
//! response JSON, and every row of the FIP's Exception handling tables,
//! through fio-peer's chain client (signed transactions) and raw HTTP.

use fio_devnet::{Genesis, GenesisAddress, Running};
use fio_peer::chain::{
    AddFriend, ChainClient, ChainConfig, ChainError, ChainId, DecryptKey, FioError, Name,
    PrivAddAddress, PrivFundsRequest, PrivGrantAccess, PrivPublicAddress, PrivRecordSend,
    PrivacyAction, PrivacyResponse, RemoveFriend, SetAddressPrivacy, TokenPubAddress,
};
use fio_peer::crypto::PrivateKey;
use fio_peer::friends::{look_up_index, request_index};
use serde_json::{json, Value};

const DEVNET: &str = "cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f";
const FIO: u64 = 1_000_000_000;
/// Default fees (devnet/src/state.rs DEFAULT_FEES).
const FRIEND_FEE: u64 = 400_000_000;
const NBPA_FEE: u64 = 400_000_000;

struct Net {
    /// alice@devnet, rich, bundles.
    alice: PrivateKey,
    /// bob@devnet, rich, bundles.
    bob: PrivateKey,
    /// broke@devnet: no bundles; exactly enough for one friend and one NBPA call.
    broke: PrivateKey,
    /// spent@devnet: no bundles, plenty of FIO.
    spent: PrivateKey,
    /// expired@devnet expired; old@gone's domain expired 40 days ago;
    /// recent@late's domain expired 10 days ago (within the grace period).
    expired: PrivateKey,
    running: Running,
    client: ChainClient,
}

fn address(name: &str, key: &PrivateKey, bundles: u64) -> GenesisAddress {
    GenesisAddress {
        fio_address: name.into(),
        public_key: key.public_key().to_fio_string(),
        bundles: Some(bundles),
        expiration: None,
    }
}

fn chain_time(secs_from_now: i64) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + secs_from_now;
    let days = t.div_euclid(86_400);
    let rem = t.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

async fn net() -> Net {
    let [alice, bob, broke, spent, expired] = std::array::from_fn(|_| PrivateKey::generate());
    let mut gone = address("expired@devnet", &expired, 10);
    gone.expiration = Some(chain_time(-60));
    let genesis = Genesis {
        domains: vec!["devnet".into(), "gone".into(), "late".into()],
        addresses: vec![
            address("alice@devnet", &alice, 100),
            address("bob@devnet", &bob, 100),
            address("broke@devnet", &broke, 0),
            address("spent@devnet", &spent, 0),
            gone,
            address("old@gone", &expired, 10),
            address("recent@late", &expired, 10),
        ],
        balances: [
            (&alice, 100 * FIO),
            (&bob, 100 * FIO),
            (&broke, FRIEND_FEE + NBPA_FEE),
            (&spent, 100 * FIO),
            (&expired, 100 * FIO),
        ]
        .into_iter()
        .map(|(k, b)| (k.public_key().to_fio_string(), b))
        .collect(),
        domain_expirations: [
            ("gone".to_string(), chain_time(-40 * 86_400)),
            ("late".to_string(), chain_time(-10 * 86_400)),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let running = Running::start(None, &genesis).await.unwrap();
    let mut config = ChainConfig::new(ChainId::parse(DEVNET).unwrap(), vec![running.url()]);
    config.agreement = 1;
    let client = ChainClient::new(config).unwrap();
    Net {
        alice,
        bob,
        broke,
        spent,
        expired,
        running,
        client,
    }
}

fn actor(key: &PrivateKey) -> Name {
    Name::parse(&key.public_key().account_name()).unwrap()
}

/// The look-up index of `friend` on `owner`'s list.
fn index(owner: &PrivateKey, friend: &PrivateKey) -> String {
    look_up_index(
        &owner.shared_secret(friend.public_key()),
        friend.public_key(),
    )
}

impl Net {
    async fn push(
        &self,
        key: &PrivateKey,
        action: PrivacyAction,
    ) -> Result<PrivacyResponse, ChainError> {
        self.client.push_privacy(key, action).await.map(|r| r.1)
    }

    async fn raw(&self, endpoint: &str, body: Value) -> (u16, Value) {
        fio_peer::chain::install_tls_provider();
        let resp = reqwest::Client::new()
            .post(format!("{}/v1/chain/{endpoint}", self.running.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    async fn balance(&self, key: &PrivateKey) -> u64 {
        let (_, v) = self
            .raw(
                "get_fio_balance",
                json!({"fio_public_key": key.public_key().to_fio_string()}),
            )
            .await;
        v["balance"].as_u64().unwrap()
    }

    async fn add_friend(&self, owner: &PrivateKey, friend: &PrivateKey) -> PrivacyResponse {
        self.push(owner, add_friend(owner, friend, 10 * FIO as i64, ""))
            .await
            .unwrap()
    }
}

fn add_friend(owner: &PrivateKey, friend: &PrivateKey, max_fee: i64, tpid: &str) -> PrivacyAction {
    PrivacyAction::AddFriend(AddFriend {
        fio_public_key_hash: index(owner, friend),
        content: "backup".into(),
        max_fee,
        tpid: tpid.into(),
        actor: actor(owner),
    })
}

fn nbpa(chain: &str, token: &str, tag: &str) -> PrivPublicAddress {
    PrivPublicAddress {
        chain_code: chain.into(),
        token_code: token.into(),
        public_key_address_level: format!("A-{tag}"),
        public_key_chain_level: format!("C-{tag}"),
        public_key_nbpa_level: format!("N-{tag}"),
    }
}

fn add_nbpas(
    key: &PrivateKey,
    address: &str,
    list: Vec<PrivPublicAddress>,
    max_fee: i64,
    tpid: &str,
) -> PrivacyAction {
    PrivacyAction::AddAddress(PrivAddAddress {
        fio_address: address.into(),
        public_addresses: list,
        max_fee,
        tpid: tpid.into(),
        actor: actor(key),
    })
}

fn grant(
    owner: &PrivateKey,
    friend: &PrivateKey,
    keys: Vec<(&str, &str)>,
    max_fee: i64,
    tpid: &str,
) -> PrivacyAction {
    PrivacyAction::GrantAccess(PrivGrantAccess {
        fio_public_key_hash: index(owner, friend),
        decrypt_keys: keys
            .into_iter()
            .map(|(level, level_index)| DecryptKey {
                level: level.into(),
                level_index: level_index.into(),
                decrypt_key: format!("K-{level}-{level_index}"),
            })
            .collect(),
        max_fee,
        tpid: tpid.into(),
        actor: actor(owner),
    })
}

fn funds_request(
    payee: &PrivateKey,
    address: &str,
    payer: &PrivateKey,
    max_fee: i64,
    tpid: &str,
) -> PrivacyAction {
    PrivacyAction::FundsRequest(PrivFundsRequest {
        payee_fio_address: address.into(),
        payee_fio_public_key: payee.public_key().to_fio_string(),
        lookup_index_for_payer: request_index(
            &payee.shared_secret(payer.public_key()),
            payer.public_key(),
        ),
        content: "request-content".into(),
        max_fee,
        tpid: tpid.into(),
        actor: actor(payee),
    })
}

fn record_send(
    payer: &PrivateKey,
    address: &str,
    payee: &PrivateKey,
    max_fee: i64,
    tpid: &str,
) -> PrivacyAction {
    PrivacyAction::RecordSend(PrivRecordSend {
        payer_fio_address: address.into(),
        payer_fio_public_key: payer.public_key().to_fio_string(),
        lookup_index_for_payee: request_index(
            &payer.shared_secret(payee.public_key()),
            payee.public_key(),
        ),
        content: "action-content".into(),
        max_fee,
        tpid: tpid.into(),
        actor: actor(payer),
    })
}

fn fio(e: Result<PrivacyResponse, ChainError>) -> FioError {
    match e {
        Err(ChainError::Fio(f)) => f,
        other => panic!("expected a FIO error, got {other:?}"),
    }
}

/// A 400 with exactly this field, value and message.
fn assert_field(e: Result<PrivacyResponse, ChainError>, name: &str, value: &str, message: &str) {
    let f = fio(e);
    assert_eq!(f.status, 400, "{f:?}");
    assert_eq!(f.fields.len(), 1, "{f:?}");
    assert_eq!(
        (
            f.fields[0].name.as_str(),
            f.fields[0].value.as_str(),
            f.fields[0].error.as_str()
        ),
        (name, value, message)
    );
}

fn assert_403(e: Result<PrivacyResponse, ChainError>) {
    let f = fio(e);
    assert_eq!(
        (f.status, f.error_type.as_deref()),
        (403, Some("invalid_signature")),
        "{f:?}"
    );
}

fn assert_404(e: Result<PrivacyResponse, ChainError>, message: &str) {
    let f = fio(e);
    assert_eq!((f.status, f.message.as_str()), (404, message), "{f:?}");
}

/// The four rows every write shares: invalid fee value, invalid TPID, fee
/// exceeds maximum (`payer` has no bundles left) and insufficient funds
/// (`poor` has no bundles and no FIO). `make(key, max_fee, tpid)`.
async fn fee_rows(
    net: &Net,
    payer: &PrivateKey,
    poor: Option<&PrivateKey>,
    make: impl Fn(&PrivateKey, i64, &str) -> PrivacyAction,
) {
    assert_field(
        net.push(payer, make(payer, -100, "")).await,
        "max_fee",
        "-100",
        "Invalid fee value",
    );
    assert_field(
        net.push(payer, make(payer, 10 * FIO as i64, "notvalidfioaddress"))
            .await,
        "tpid",
        "notvalidfioaddress",
        "TPID must be empty or valid FIO address",
    );
    assert_field(
        net.push(payer, make(payer, 1, "")).await,
        "max_fee",
        "1",
        "Fee exceeds supplied maximum",
    );
    if let Some(poor) = poor {
        let max = (10 * FIO).to_string();
        assert_field(
            net.push(poor, make(poor, 10 * FIO as i64, "")).await,
            "max_fee",
            &max,
            "Insufficient funds to cover fee",
        );
    }
}

#[tokio::test]
async fn friend_lists_add_check_page_and_remove() {
    let net = net().await;
    let friends: Vec<PrivateKey> = (0..5).map(|_| PrivateKey::generate()).collect();
    let before = net.balance(&net.alice).await;
    for f in &friends {
        let r = net.add_friend(&net.alice, f).await;
        assert_eq!((r.status.as_str(), r.fee_collected), ("OK", FRIEND_FEE));
    }
    // Friend actions carry no FIO address: always the fee, never a bundle.
    assert_eq!(net.balance(&net.alice).await, before - 5 * FRIEND_FEE);

    // Either party checks with the same index.
    let hash = index(&net.alice, &friends[0]);
    let theirs = look_up_index(
        &friends[0].shared_secret(net.alice.public_key()),
        friends[0].public_key(),
    );
    assert_eq!(hash, theirs);
    let (s, v) = net
        .raw(
            "priv_check_friend_list",
            json!({"fio_public_key_hash": hash}),
        )
        .await;
    assert_eq!((s, v), (200, json!({"is_friend": 1})));
    let other = index(&net.bob, &friends[0]);
    let (_, v) = net
        .raw(
            "priv_check_friend_list",
            json!({"fio_public_key_hash": other}),
        )
        .await;
    assert_eq!(v, json!({"is_friend": 0}));

    // Paging: limit, offset, more; all when limit is absent.
    let owner = net.alice.public_key().to_fio_string();
    let (s, v) = net
        .raw(
            "priv_get_friend_list",
            json!({"fio_public_key": owner, "limit": 2, "offset": 1}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["friends"].as_array().unwrap().len(), 2);
    assert_eq!(v["more"], 2);
    assert_eq!(
        v["friends"][0]["fio_public_key_hash"],
        index(&net.alice, &friends[1])
    );
    assert_eq!(v["friends"][0]["content"], "backup");
    let (_, v) = net
        .raw("priv_get_friend_list", json!({"fio_public_key": owner}))
        .await;
    assert_eq!(
        (v["friends"].as_array().unwrap().len(), &v["more"]),
        (5, &json!(0))
    );

    // Remove: gone from the list and from check.
    let r = net
        .push(
            &net.alice,
            PrivacyAction::RemoveFriend(RemoveFriend {
                fio_public_key_hash: hash.clone(),
                max_fee: FIO as i64,
                tpid: "bob@devnet".into(),
                actor: actor(&net.alice),
            }),
        )
        .await
        .unwrap();
    assert_eq!((r.status.as_str(), r.fee_collected), ("OK", FRIEND_FEE));
    let (_, v) = net
        .raw(
            "priv_check_friend_list",
            json!({"fio_public_key_hash": hash}),
        )
        .await;
    assert_eq!(v, json!({"is_friend": 0}));

    // An empty list is the FIP's 404.
    let (s, v) = net
        .raw(
            "priv_get_friend_list",
            json!({"fio_public_key": net.bob.public_key().to_fio_string()}),
        )
        .await;
    assert_eq!((s, v), (404, json!({"message": "No items in friend list"})));
}

#[tokio::test]
async fn friend_list_exception_rows() {
    let net = net().await;
    let friend = PrivateKey::generate();
    net.add_friend(&net.alice, &friend).await;
    // Key in Friend List.
    assert_field(
        net.push(&net.alice, add_friend(&net.alice, &friend, FIO as i64, ""))
            .await,
        "fio_public_key_hash",
        &index(&net.alice, &friend),
        "FIO public key already in Friend List",
    );
    let other = PrivateKey::generate();
    fee_rows(&net, &net.alice, None, |k, fee, tpid| {
        add_friend(k, &other, fee, tpid)
    })
    .await;
    // Insufficient funds: broke can pay exactly one friend, then has nothing.
    net.add_friend(&net.broke, &friend).await;
    assert_eq!(net.balance(&net.broke).await, NBPA_FEE);
    let third = PrivateKey::generate();
    let max = (10 * FIO).to_string();
    net.push(
        &net.broke,
        add_nbpas(
            &net.broke,
            "broke@devnet",
            vec![nbpa("BTC", "BTC", "b")],
            10 * FIO as i64,
            "",
        ),
    )
    .await
    .unwrap();
    assert_field(
        net.push(
            &net.broke,
            add_friend(&net.broke, &third, 10 * FIO as i64, ""),
        )
        .await,
        "max_fee",
        &max,
        "Insufficient funds to cover fee",
    );

    // removefriend: Key not in Friend List, then the fee rows.
    let remove = |k: &PrivateKey, f: &PrivateKey, fee: i64, tpid: &str| {
        PrivacyAction::RemoveFriend(RemoveFriend {
            fio_public_key_hash: index(k, f),
            max_fee: fee,
            tpid: tpid.into(),
            actor: actor(k),
        })
    };
    assert_field(
        net.push(&net.alice, remove(&net.alice, &third, FIO as i64, ""))
            .await,
        "fio_public_key_hash",
        &index(&net.alice, &third),
        "FIO public key not in Friend List",
    );
    fee_rows(&net, &net.alice, Some(&net.broke), |k, fee, tpid| {
        remove(k, &friend, fee, tpid)
    })
    .await;

    // Malformed look-up indexes are refused before anything else.
    let mut bad = add_friend(&net.alice, &third, FIO as i64, "");
    if let PrivacyAction::AddFriend(a) = &mut bad {
        a.fio_public_key_hash = "515184318471884685485465454464846864686484464694181384".into();
    }
    assert_field(
        net.push(&net.alice, bad).await,
        "fio_public_key_hash",
        "515184318471884685485465454464846864686484464694181384",
        "Invalid look-up index",
    );
    let (s, v) = net
        .raw(
            "priv_check_friend_list",
            json!({"fio_public_key_hash": "0xZZ"}),
        )
        .await;
    assert_eq!(
        (s, &v["fields"][0]["name"]),
        (400, &json!("fio_public_key_hash"))
    );
    let (s, v) = net
        .raw("priv_get_friend_list", json!({"fio_public_key": "EOS123"}))
        .await;
    assert_eq!(
        (s, &v["fields"][0]["error"]),
        (400, &json!("Invalid FIO Public Key"))
    );
    let (s, v) = net
        .raw(
            "priv_get_friend_list",
            json!({"fio_public_key": net.alice.public_key().to_fio_string(), "limit": -1}),
        )
        .await;
    assert_eq!(
        (s, &v["fields"][0]["error"]),
        (400, &json!("Invalid limit"))
    );
}

#[tokio::test]
async fn nbpas_grants_and_the_most_specific_key() {
    let net = net().await;
    let (friend, stranger) = (PrivateKey::generate(), PrivateKey::generate());
    let r = net
        .push(
            &net.bob,
            add_nbpas(
                &net.bob,
                "bob@devnet",
                vec![
                    nbpa("BTC", "BTC", "btc"),
                    nbpa("ETH", "USDC", "usdc"),
                    nbpa("ETH", "ETH", "eth"),
                ],
                0,
                "alice@devnet",
            ),
        )
        .await
        .unwrap();
    // Bundled: no fee. Key ids are consecutive from the one returned.
    assert_eq!(r.fee_collected, 0);
    let first = r.key_id.unwrap();

    let lookup = |hash: String, chain: &str, token: &str| json!({"fio_public_key_hash": hash, "fio_address": "bob@devnet", "chain_code": chain, "token_code": token});
    let fhash = index(&net.bob, &friend);
    // Nothing granted yet: 404.
    let (s, v) = net
        .raw("priv_get_pub_address", lookup(fhash.clone(), "BTC", "BTC"))
        .await;
    assert_eq!(
        (s, v),
        (404, json!({"message": "Public address not found"}))
    );

    net.add_friend(&net.bob, &friend).await;
    let r = net
        .push(
            &net.bob,
            grant(
                &net.bob,
                &friend,
                vec![("address", "bob@devnet")],
                FIO as i64,
                "",
            ),
        )
        .await
        .unwrap();
    assert_eq!((r.status.as_str(), r.fee_collected), ("OK", 400_000_000));
    let (s, v) = net
        .raw("priv_get_pub_address", lookup(fhash.clone(), "BTC", "BTC"))
        .await;
    assert_eq!(
        (s, v),
        (
            200,
            json!({"public_address": "A-btc", "decrypt_key": "K-address-bob@devnet"})
        )
    );
    // A chain-level key beats the address level; an NBPA-level key beats both.
    net.push(
        &net.bob,
        grant(
            &net.bob,
            &friend,
            vec![("chain", "bob@devnet/ETH")],
            FIO as i64,
            "",
        ),
    )
    .await
    .unwrap();
    let (_, v) = net
        .raw("priv_get_pub_address", lookup(fhash.clone(), "ETH", "USDC"))
        .await;
    assert_eq!(
        v,
        json!({"public_address": "C-usdc", "decrypt_key": "K-chain-bob@devnet/ETH"})
    );
    let usdc = (first + 1).to_string();
    net.push(
        &net.bob,
        grant(&net.bob, &friend, vec![("nbpa", &usdc)], FIO as i64, ""),
    )
    .await
    .unwrap();
    let (_, v) = net
        .raw("priv_get_pub_address", lookup(fhash.clone(), "ETH", "USDC"))
        .await;
    assert_eq!(
        v,
        json!({"public_address": "N-usdc", "decrypt_key": format!("K-nbpa-{usdc}")})
    );
    let (_, v) = net
        .raw("priv_get_pub_address", lookup(fhash.clone(), "ETH", "ETH"))
        .await;
    assert_eq!(v["public_address"], "C-eth");
    // A stranger's index finds nothing.
    let (s, _) = net
        .raw(
            "priv_get_pub_address",
            lookup(index(&net.bob, &stranger), "BTC", "BTC"),
        )
        .await;
    assert_eq!(s, 404);
    // Replacing an NBPA gives it a new key id: the old NBPA-level grant no
    // longer applies, the chain-level one does.
    let r = net
        .push(
            &net.bob,
            add_nbpas(
                &net.bob,
                "bob@devnet",
                vec![nbpa("ETH", "USDC", "usdc2")],
                0,
                "",
            ),
        )
        .await
        .unwrap();
    assert!(r.key_id.unwrap() > first + 2);
    let (_, v) = net
        .raw("priv_get_pub_address", lookup(fhash.clone(), "ETH", "USDC"))
        .await;
    assert_eq!(v["public_address"], "C-usdc2");
    // Removing the friend removes what they were granted.
    net.push(
        &net.bob,
        PrivacyAction::RemoveFriend(RemoveFriend {
            fio_public_key_hash: fhash.clone(),
            max_fee: FIO as i64,
            tpid: String::new(),
            actor: actor(&net.bob),
        }),
    )
    .await
    .unwrap();
    let (s, _) = net
        .raw("priv_get_pub_address", lookup(fhash, "BTC", "BTC"))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn nbpa_exception_rows() {
    let net = net().await;
    let add = |list| add_nbpas(&net.bob, "bob@devnet", list, 0, "");
    assert_field(
        net.push(&net.bob, add(vec![nbpa("BTC!@#$%^&*()", "BTC", "x")]))
            .await,
        "chain_code",
        "BTC!@#$%^&*()",
        "Invalid Chain Code",
    );
    assert_field(
        net.push(&net.bob, add(vec![nbpa("BTC", "BTC!@#$%^&*()", "x")]))
            .await,
        "token_code",
        "BTC!@#$%^&*()",
        "Invalid Token Code",
    );
    assert_field(
        net.push(&net.bob, add(vec![])).await,
        "public_addresses",
        "0",
        "Min 1, Max 5 public addresses are allowed",
    );
    assert_field(
        net.push(
            &net.bob,
            add((0..6).map(|i| nbpa("BTC", &format!("T{i}"), "x")).collect()),
        )
        .await,
        "public_addresses",
        "6",
        "Min 1, Max 5 public addresses are allowed",
    );
    // Not owner: 403; FIO Address not found: 404.
    assert_403(
        net.push(
            &net.alice,
            add_nbpas(
                &net.alice,
                "bob@devnet",
                vec![nbpa("BTC", "BTC", "x")],
                0,
                "",
            ),
        )
        .await,
    );
    assert_404(
        net.push(
            &net.alice,
            add_nbpas(
                &net.alice,
                "nobody@devnet",
                vec![nbpa("BTC", "BTC", "x")],
                0,
                "",
            ),
        )
        .await,
        "FIO Address not found",
    );
    // Fee rows: spent@devnet has no bundles; broke has neither bundles nor FIO
    // once it paid for a friend and one NBPA call.
    let friend = PrivateKey::generate();
    net.add_friend(&net.broke, &friend).await;
    net.push(
        &net.broke,
        add_nbpas(
            &net.broke,
            "broke@devnet",
            vec![nbpa("BTC", "BTC", "b")],
            FIO as i64,
            "",
        ),
    )
    .await
    .unwrap();
    assert_eq!(net.balance(&net.broke).await, 0);
    let spent_before = net.balance(&net.spent).await;
    let r = net
        .push(
            &net.spent,
            add_nbpas(
                &net.spent,
                "spent@devnet",
                vec![nbpa("BTC", "BTC", "s")],
                FIO as i64,
                "",
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.fee_collected, NBPA_FEE);
    assert_eq!(net.balance(&net.spent).await, spent_before - NBPA_FEE);
    let address_of = |k: &PrivateKey| {
        if k == &net.broke {
            "broke@devnet"
        } else {
            "spent@devnet"
        }
    };
    fee_rows(&net, &net.spent, Some(&net.broke), |k, fee, tpid| {
        add_nbpas(k, address_of(k), vec![nbpa("ETH", "ETH", "x")], fee, tpid)
    })
    .await;

    // privganbpa rows.
    let stranger = PrivateKey::generate();
    assert_field(
        net.push(
            &net.bob,
            grant(
                &net.bob,
                &stranger,
                vec![("address", "bob@devnet")],
                FIO as i64,
                "",
            ),
        )
        .await,
        "fio_public_key_hash",
        &index(&net.bob, &stranger),
        "FIO public key not in Friend List",
    );
    net.add_friend(&net.bob, &friend).await;
    let g = |keys| grant(&net.bob, &friend, keys, FIO as i64, "");
    assert_field(
        net.push(&net.bob, g(vec![("something", "x")])).await,
        "level",
        "something",
        "Invalid level.",
    );
    assert_field(
        net.push(&net.bob, g(vec![("chain", "bob@devnet/BTC!@#$%^&*()")]))
            .await,
        "level_index",
        "bob@devnet/BTC!@#$%^&*()",
        "Invalid Chain Code",
    );
    assert_field(
        net.push(&net.bob, g(vec![("chain", "BTC")])).await,
        "level_index",
        "BTC",
        "Invalid Chain Code",
    );
    assert_field(
        net.push(&net.bob, g(vec![("nbpa", "BTC!@#$%^&*()")])).await,
        "level_index",
        "BTC!@#$%^&*()",
        "Invalid Chain Code",
    );
    // An NBPA id that is not the signer's.
    let (_, v) = net
        .raw(
            "get_fee",
            json!({"end_point": "priv_add_pub_address", "fio_address": "broke@devnet"}),
        )
        .await;
    assert_eq!(v, json!({"fee": NBPA_FEE}));
    assert_field(
        net.push(&net.bob, g(vec![("nbpa", "1")])).await,
        "level_index",
        "1",
        "Invalid Chain Code",
    );
    assert_field(
        net.push(&net.bob, g(vec![])).await,
        "decrypt_keys",
        "0",
        "Min 1, Max 5 decrypt keys are allowed",
    );
    assert_403(
        net.push(&net.bob, g(vec![("address", "alice@devnet")]))
            .await,
    );
    assert_403(
        net.push(&net.bob, g(vec![("chain", "alice@devnet/BTC")]))
            .await,
    );
    assert_404(
        net.push(&net.bob, g(vec![("address", "nobody@devnet")]))
            .await,
        "FIO Address not found",
    );
}

#[tokio::test]
async fn grant_fee_rows() {
    let net = net().await;
    let friend = PrivateKey::generate();
    net.add_friend(&net.spent, &friend).await;
    net.add_friend(&net.broke, &friend).await;
    net.push(
        &net.broke,
        add_nbpas(
            &net.broke,
            "broke@devnet",
            vec![nbpa("BTC", "BTC", "b")],
            FIO as i64,
            "",
        ),
    )
    .await
    .unwrap();
    let address_of = |k: &PrivateKey| {
        if k == &net.broke {
            "broke@devnet"
        } else {
            "spent@devnet"
        }
    };
    fee_rows(&net, &net.spent, Some(&net.broke), |k, fee, tpid| {
        grant(k, &friend, vec![("address", address_of(k))], fee, tpid)
    })
    .await;
}

#[tokio::test]
async fn private_requests_and_send_actions() {
    let net = net().await;
    let (payee, payer) = (&net.bob, &net.alice);
    let r = net
        .push(
            payee,
            funds_request(payee, "bob@devnet", payer, FIO as i64, ""),
        )
        .await
        .unwrap();
    assert_eq!((r.status.as_str(), r.fee_collected), ("OK", 0));
    let id = r.fio_request_id.unwrap();
    let r2 = net
        .push(
            payee,
            funds_request(payee, "bob@devnet", payer, FIO as i64, ""),
        )
        .await
        .unwrap();
    assert_eq!(r2.fio_request_id, Some(id + 1));

    let for_payer = request_index(&payee.shared_secret(payer.public_key()), payer.public_key());
    let noise = request_index(
        &payee.shared_secret(net.spent.public_key()),
        net.spent.public_key(),
    );
    let (s, v) = net
        .raw(
            "priv_get_received_fio_requests",
            json!({"lookup_indexes_for_payer": [noise, for_payer], "limit": 1, "offset": 0}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"requests": [{
            "fio_request_id": id,
            "payee_fio_address": "bob@devnet",
            "payee_fio_public_key": payee.public_key().to_fio_string(),
            "lookup_index_for_payer": for_payer,
            "content": "request-content",
        }], "more": 1})
    );
    let (_, v) = net
        .raw(
            "priv_get_sent_fio_requests",
            json!({"fio_public_key": payee.public_key().to_fio_string(), "offset": 1}),
        )
        .await;
    assert_eq!(
        (v["requests"][0]["fio_request_id"].as_u64(), &v["more"]),
        (Some(id + 1), &json!(0))
    );

    net.push(
        payer,
        record_send(payer, "alice@devnet", payee, FIO as i64, ""),
    )
    .await
    .unwrap();
    let for_payee = request_index(&payer.shared_secret(payee.public_key()), payee.public_key());
    let (s, v) = net
        .raw(
            "priv_get_received_actions",
            json!({"lookup_indexes_for_payer": [for_payee]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"actions": [{
            "payer_fio_address": "alice@devnet",
            "payer_fio_public_key": payer.public_key().to_fio_string(),
            "lookup_index_for_payer": for_payee,
            "content": "action-content",
        }], "more": 0})
    );

    // Nothing found: the FIP's 404s.
    let unknown = request_index(
        &net.spent.shared_secret(payer.public_key()),
        payer.public_key(),
    );
    let (s, v) = net
        .raw(
            "priv_get_received_fio_requests",
            json!({"lookup_indexes_for_payer": [unknown]}),
        )
        .await;
    assert_eq!((s, v), (404, json!({"message": "No FIO Requests."})));
    let (s, v) = net
        .raw(
            "priv_get_sent_fio_requests",
            json!({"fio_public_key": net.spent.public_key().to_fio_string()}),
        )
        .await;
    assert_eq!((s, v), (404, json!({"message": "No FIO Requests."})));
    let (s, v) = net
        .raw(
            "priv_get_received_actions",
            json!({"lookup_indexes_for_payer": [unknown]}),
        )
        .await;
    assert_eq!((s, v), (404, json!({"message": "No Received Actions."})));
    // Malformed batches.
    for bad in [
        json!({}),
        json!({"lookup_indexes_for_payer": []}),
        json!({"lookup_indexes_for_payer": ["nope"]}),
        json!({"lookup_indexes_for_payer": "0x00"}),
    ] {
        let (s, v) = net.raw("priv_get_received_fio_requests", bad.clone()).await;
        assert_eq!(
            (s, &v["fields"][0]["name"]),
            (400, &json!("lookup_indexes_for_payer")),
            "{bad}"
        );
    }
    let many: Vec<String> = (0..10_001).map(|i| format!("0x{i:032x}")).collect();
    let (s, _) = net
        .raw(
            "priv_get_received_actions",
            json!({"lookup_indexes_for_payer": many}),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn request_and_send_exception_rows() {
    let net = net().await;
    let other = PrivateKey::generate();
    for (field, make) in [
        (
            "payee_fio_address",
            funds_request as fn(&PrivateKey, &str, &PrivateKey, i64, &str) -> PrivacyAction,
        ),
        ("payer_fio_address", record_send),
    ] {
        let ex = &net.expired;
        assert_field(
            net.push(
                &net.bob,
                make(&net.bob, "alice@purse", &other, FIO as i64, ""),
            )
            .await,
            field,
            "alice@purse",
            "FIO Address invalid or does not exist.",
        );
        assert_field(
            net.push(
                &net.bob,
                make(&net.bob, "not an address", &other, FIO as i64, ""),
            )
            .await,
            field,
            "not an address",
            "FIO Address invalid or does not exist.",
        );
        assert_field(
            net.push(ex, make(ex, "expired@devnet", &other, FIO as i64, ""))
                .await,
            field,
            "expired@devnet",
            "FIO Address expired.",
        );
        assert_field(
            net.push(ex, make(ex, "old@gone", &other, FIO as i64, ""))
                .await,
            field,
            "old@gone",
            "FIO Domain expired.",
        );
        // Within the 30-day grace period the domain still works.
        net.push(ex, make(ex, "recent@late", &other, FIO as i64, ""))
            .await
            .unwrap();
        assert_403(
            net.push(
                &net.alice,
                make(&net.alice, "bob@devnet", &other, FIO as i64, ""),
            )
            .await,
        );
        fee_rows(&net, &net.spent, None, |k, fee, tpid| {
            make(k, "spent@devnet", &other, fee, tpid)
        })
        .await;
    }
    // The key beside the address must be the signer's.
    let mut wrong = funds_request(&net.bob, "bob@devnet", &other, FIO as i64, "");
    if let PrivacyAction::FundsRequest(r) = &mut wrong {
        r.payee_fio_public_key = other.public_key().to_fio_string();
    }
    assert_field(
        net.push(&net.bob, wrong).await,
        "payee_fio_public_key",
        &other.public_key().to_fio_string(),
        "FIO Public Key is not the signer's",
    );
}

#[tokio::test]
async fn insufficient_funds_for_requests_and_sends() {
    let net = net().await;
    let other = PrivateKey::generate();
    // broke spends its balance on a friend and an NBPA call first.
    net.add_friend(&net.broke, &other).await;
    net.push(
        &net.broke,
        add_nbpas(
            &net.broke,
            "broke@devnet",
            vec![nbpa("BTC", "BTC", "b")],
            FIO as i64,
            "",
        ),
    )
    .await
    .unwrap();
    let max = (10 * FIO).to_string();
    assert_field(
        net.push(
            &net.broke,
            funds_request(&net.broke, "broke@devnet", &other, 10 * FIO as i64, ""),
        )
        .await,
        "max_fee",
        &max,
        "Insufficient funds to cover fee",
    );
    assert_field(
        net.push(
            &net.broke,
            record_send(&net.broke, "broke@devnet", &other, 10 * FIO as i64, ""),
        )
        .await,
        "max_fee",
        &max,
        "Insufficient funds to cover fee",
    );
}

#[tokio::test]
async fn a_private_address_answers_public_actions_with_the_advisory() {
    let net = net().await;
    let set = |privacy| {
        PrivacyAction::SetPrivacy(SetAddressPrivacy {
            fio_address: "bob@devnet".into(),
            privacy,
            max_fee: FIO as i64,
            tpid: String::new(),
            actor: actor(&net.bob),
        })
    };
    let entry = TokenPubAddress {
        token_code: "BTC".into(),
        chain_code: "BTC".into(),
        public_address: "bc1q".into(),
    };
    net.client
        .add_pub_address(&net.bob, "bob@devnet", vec![entry.clone()], FIO as i64)
        .await
        .unwrap();
    net.push(&net.bob, set(1)).await.unwrap();
    let advisory = |e: Result<_, ChainError>| match e {
        Err(ChainError::Fio(f)) => {
            assert_eq!((f.status, f.fields[0].name.as_str()), (400, "fio_address"));
            assert_eq!(
                f.fields[0].error,
                "FIO Address only supports private mode: use the priv_ actions"
            );
        }
        other => panic!("{other:?}"),
    };
    advisory(
        net.client
            .add_pub_address(&net.bob, "bob@devnet", vec![entry.clone()], FIO as i64)
            .await
            .map(|_| ()),
    );
    advisory(
        net.client
            .remove_pub_address(&net.bob, "bob@devnet", vec![entry.clone()], FIO as i64)
            .await
            .map(|_| ()),
    );
    advisory(
        net.client
            .get_pub_address("bob@devnet", "BTC", "BTC")
            .await
            .map(|_| ()),
    );
    advisory(
        net.client
            .get_pub_addresses("bob@devnet", 0, 0)
            .await
            .map(|_| ()),
    );
    // The key stays public: FIP-3's flows start by looking it up.
    assert_eq!(
        net.client
            .get_pub_address("bob@devnet", "FIO", "FIO")
            .await
            .unwrap(),
        net.bob.public_key().to_fio_string()
    );
    // Private actions work; back to public, the public ones do again.
    net.push(
        &net.bob,
        add_nbpas(&net.bob, "bob@devnet", vec![nbpa("BTC", "BTC", "x")], 0, ""),
    )
    .await
    .unwrap();
    net.push(&net.bob, set(0)).await.unwrap();
    assert_eq!(
        net.client
            .get_pub_address("bob@devnet", "BTC", "BTC")
            .await
            .unwrap(),
        "bc1q"
    );
    // Bad option, not owner, not found.
    assert_field(
        net.push(&net.bob, set(2)).await,
        "privacy",
        "2",
        "Invalid privacy option: 0 public, 1 private",
    );
    let mut theirs = set(1);
    if let PrivacyAction::SetPrivacy(s) = &mut theirs {
        s.actor = actor(&net.alice);
    }
    assert_403(net.push(&net.alice, theirs).await);
}

#[tokio::test]
async fn actions_go_only_to_their_endpoint_and_contract() {
    let net = net().await;
    let friend = PrivateKey::generate();
    let action = add_friend(&net.alice, &friend, FIO as i64, "");
    let trx = net.client.prepare(vec![action.action()]).await.unwrap();
    let signed = trx.sign(&ChainId::parse(DEVNET).unwrap(), &net.alice);
    // The wrong endpoint refuses it as the node does (403 invalid_account_or_action).
    match net.client.push("priv_remove_friend", &signed).await {
        Err(ChainError::Fio(f)) => assert_eq!(f.status, 403),
        other => panic!("{other:?}"),
    }
    // push_transaction takes any implemented action.
    net.client.push("push_transaction", &signed).await.unwrap();
    // The data's actor must be the signer (require_auth).
    let forged = add_friend(&net.alice, &friend, FIO as i64, "");
    let forged = match forged {
        PrivacyAction::AddFriend(mut a) => {
            a.actor = actor(&net.bob);
            PrivacyAction::AddFriend(a)
        }
        _ => unreachable!(),
    };
    let mut act = forged.action();
    act.authorization[0].actor = actor(&net.alice);
    let trx = net.client.prepare(vec![act]).await.unwrap();
    let signed = trx.sign(&ChainId::parse(DEVNET).unwrap(), &net.alice);
    match net.client.push("priv_add_friend", &signed).await {
        Err(ChainError::Node(n)) => assert_eq!(n.name, "missing_auth_exception"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_fee_table_comes_from_the_genesis() {
    let (alice, friend) = (PrivateKey::generate(), PrivateKey::generate());
    let genesis = Genesis {
        domains: vec!["devnet".into()],
        addresses: vec![address("alice@devnet", &alice, 0)],
        balances: [(alice.public_key().to_fio_string(), 1000)]
            .into_iter()
            .collect(),
        fees: [
            ("priv_add_friend".to_string(), 123),
            ("add_pub_address".to_string(), 7),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let running = Running::start(None, &genesis).await.unwrap();
    let mut config = ChainConfig::new(ChainId::parse(DEVNET).unwrap(), vec![running.url()]);
    config.agreement = 1;
    let client = ChainClient::new(config).unwrap();
    let (_, r) = client
        .push_privacy(&alice, add_friend(&alice, &friend, 200, ""))
        .await
        .unwrap();
    assert_eq!(r.fee_collected, 123);
    // A fio.address action pays its fee too once the bundles are gone.
    let r = client
        .add_pub_address(
            &alice,
            "alice@devnet",
            vec![TokenPubAddress {
                token_code: "BTC".into(),
                chain_code: "BTC".into(),
                public_address: "bc1q".into(),
            }],
            7,
        )
        .await
        .unwrap();
    assert_eq!(
        r.response.as_deref(),
        Some(r#"{"status": "OK","fee_collected":7}"#)
    );
    fio_peer::chain::install_tls_provider();
    let fee = |end_point: &str| {
        let url = format!("{}/v1/chain/get_fee", running.url());
        let body = json!({"end_point": end_point, "fio_address": "alice@devnet"});
        async move {
            let v: Value = reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    assert_eq!(fee("priv_add_friend").await, json!({"fee": 123}));
    assert_eq!(
        fee("priv_new_funds_request").await,
        json!({"fee": 800_000_000})
    );
    assert_eq!(fee("nope").await["fields"][0]["name"], "end_point");
    let (_, v) = {
        let url = format!("{}/v1/chain/get_fio_balance", running.url());
        let v: Value = reqwest::Client::new()
            .post(url)
            .json(&json!({"fio_public_key": alice.public_key().to_fio_string()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ((), v)
    };
    assert_eq!(v["balance"], 1000 - 123 - 7);

    // A fee for an endpoint the devnet does not charge is a genesis error.
    let bad = Genesis {
        fees: [("get_info".to_string(), 1)].into_iter().collect(),
        ..Default::default()
    };
    assert!(Running::start(None, &bad).await.is_err());
}

#[tokio::test]
async fn a_refused_push_charges_nothing() {
    let net = net().await;
    let bundles = |net: &Net, key: &PrivateKey| {
        let key = key.public_key().to_fio_string();
        let client = net.client.clone();
        async move {
            let names = client.get_fio_names(&key).await.unwrap();
            names.fio_addresses[0].remaining_bundled_tx
        }
    };
    let (balance, left) = (net.balance(&net.bob).await, bundles(&net, &net.bob).await);
    // Checked after the charge would be: an invalid ciphertext, a bad level.
    let mut bad = nbpa("BTC", "BTC", "x");
    bad.public_key_nbpa_level = String::new();
    assert!(net
        .push(
            &net.bob,
            add_nbpas(&net.bob, "bob@devnet", vec![bad], FIO as i64, "")
        )
        .await
        .is_err());
    // Two actions in one push_transaction: the second fails, the first's
    // charge (a bundle and a fee) is undone with it.
    let friend = PrivateKey::generate();
    let first = add_nbpas(
        &net.bob,
        "bob@devnet",
        vec![nbpa("BTC", "BTC", "ok")],
        FIO as i64,
        "",
    );
    let second = add_friend(&net.bob, &friend, 1, "");
    let trx = net
        .client
        .prepare(vec![first.action(), second.action()])
        .await
        .unwrap();
    let signed = trx.sign(&ChainId::parse(DEVNET).unwrap(), &net.bob);
    match net.client.push("push_transaction", &signed).await {
        Err(ChainError::Fio(f)) => assert_eq!(f.fields[0].error, "Fee exceeds supplied maximum"),
        other => panic!("{other:?}"),
    }
    assert_eq!(net.balance(&net.bob).await, balance);
    assert_eq!(bundles(&net, &net.bob).await, left);
    let (s, _) = net
        .raw(
            "priv_get_pub_address",
            json!({"fio_public_key_hash": index(&net.bob, &friend), "fio_address": "bob@devnet", "chain_code": "BTC", "token_code": "BTC"}),
        )
        .await;
    assert_eq!(s, 404);
    // The same two actions with enough max_fee both apply.
    let second = add_friend(&net.bob, &friend, FIO as i64, "");
    let trx = net
        .client
        .prepare(vec![first.action(), second.action()])
        .await
        .unwrap();
    let signed = trx.sign(&ChainId::parse(DEVNET).unwrap(), &net.bob);
    net.client.push("push_transaction", &signed).await.unwrap();
    assert_eq!(net.balance(&net.bob).await, balance - FRIEND_FEE);
    assert_eq!(bundles(&net, &net.bob).await, left - 1);
}
