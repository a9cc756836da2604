//! FIP-3's stories end to end: wallets on their own databases use
//! fio-peer's `Friends` over HTTP against fio-devnet.

use std::path::Path;
use std::sync::Arc;

use fio_devnet::{Genesis, Running};
use fio_peer::chain::{ChainClient, ChainConfig, ChainId, Page};
use fio_peer::crypto::{
    derive_from_mnemonic, generate_mnemonic, NewFundsContent, PrivateKey, RecordObtDataContent,
};
use fio_peer::friends::{
    look_up_index, Friends, FriendsConfig, FriendsError, Grant, LevelKey, Nbpa, RequestStatus,
};
use fio_peer::wallet::Wallet;

const DEVNET: &str = "cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f";

struct World {
    running: Running,
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
}

async fn world(parties: &[(&str, &PrivateKey)]) -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("devnet.sqlite");
    let keys: Vec<(&str, &fio_peer::crypto::PublicKey)> =
        parties.iter().map(|(n, k)| (*n, k.public_key())).collect();
    let genesis = Genesis::with_parties("devnet", &keys, 1_000_000_000_000);
    let running = Running::start(Some(&db), &genesis).await.unwrap();
    World {
        running,
        _dir: dir,
        db,
    }
}

impl World {
    fn chain(&self) -> ChainClient {
        let mut config =
            ChainConfig::new(ChainId::parse(DEVNET).unwrap(), vec![self.running.url()]);
        config.agreement = 1;
        ChainClient::new(config).unwrap()
    }

    fn friends(&self, name: &str, key: &PrivateKey) -> Friends {
        self.friends_at(name, key, None)
    }

    fn friends_at(&self, name: &str, key: &PrivateKey, db: Option<&Path>) -> Friends {
        let chain = self.chain();
        let address = format!("{name}@devnet");
        let wallet = match db {
            Some(p) => Wallet::open(p, key.clone(), &address, Arc::new(chain.clone())),
            None => Wallet::open_in_memory(key.clone(), &address, Arc::new(chain.clone())),
        }
        .unwrap();
        Friends::new(Arc::new(wallet), chain, FriendsConfig::default()).unwrap()
    }
}

fn nbpa(chain: &str, token: &str, address: &str) -> Nbpa {
    Nbpa {
        chain_code: chain.into(),
        token_code: token.into(),
        public_address: address.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn story_one_nbpas_are_seen_exactly_as_granted() {
    let [kb, ka, kc, kd] = std::array::from_fn(|_| PrivateKey::generate());
    let w = world(&[("bob", &kb), ("alice", &ka), ("carol", &kc), ("dave", &kd)]).await;
    let (bob, alice, carol, dave) = (
        w.friends("bob", &kb),
        w.friends("alice", &ka),
        w.friends("carol", &kc),
        w.friends("dave", &kd),
    );

    // Bob adds Alice; Alice confirms she is on Bob's list; Carol is not (yet).
    let added = bob.add_friend("alice@devnet").await.unwrap();
    assert_eq!(added.public_key, *ka.public_key());
    assert!(alice.is_on_friend_list_of("bob@devnet").await.unwrap());
    assert!(!carol.is_on_friend_list_of("bob@devnet").await.unwrap());
    assert!(!bob.is_on_friend_list_of("alice@devnet").await.unwrap());
    bob.add_friend("carol@devnet").await.unwrap();
    assert!(carol.is_on_friend_list_of("bob@devnet").await.unwrap());
    assert_eq!(bob.friend_count().unwrap(), 2);

    // Bob places BTC and ETH NBPAs.
    let placed = bob
        .place_nbpas(&[
            nbpa("BTC", "BTC", "bc1qbobsbitcoinaddress"),
            nbpa("ETH", "ETH", "0xB0B0000000000000000000000000000000000001"),
        ])
        .await
        .unwrap();
    assert_eq!(placed[1].key_id, placed[0].key_id.map(|k| k + 1));
    assert_eq!(bob.own_nbpas().unwrap().len(), 2);

    // Alice gets BTC at chain level; Carol gets the one ETH NBPA.
    bob.grant("alice@devnet", &[Grant::Chain("BTC".into())])
        .await
        .unwrap();
    bob.grant(
        &kc.public_key().to_fio_string(),
        &[Grant::Nbpa {
            chain_code: "ETH".into(),
            token_code: "ETH".into(),
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        bob.grants_of(ka.public_key()).unwrap(),
        vec![("chain".to_string(), "bob@devnet/BTC".to_string())]
    );

    // Each sees exactly what was granted.
    assert_eq!(
        alice
            .lookup_nbpa("bob@devnet", "BTC", "BTC")
            .await
            .unwrap()
            .as_deref(),
        Some("bc1qbobsbitcoinaddress")
    );
    assert_eq!(
        alice.lookup_nbpa("bob@devnet", "ETH", "ETH").await.unwrap(),
        None
    );
    assert_eq!(
        carol
            .lookup_nbpa("bob@devnet", "ETH", "ETH")
            .await
            .unwrap()
            .as_deref(),
        Some("0xB0B0000000000000000000000000000000000001")
    );
    assert_eq!(
        carol.lookup_nbpa("bob@devnet", "BTC", "BTC").await.unwrap(),
        None
    );
    // A stranger sees nothing.
    assert_eq!(
        dave.lookup_nbpa("bob@devnet", "BTC", "BTC").await.unwrap(),
        None
    );
    assert_eq!(
        dave.lookup_nbpa("bob@devnet", "ETH", "ETH").await.unwrap(),
        None
    );
    // Even with Alice's look-up index (it is on chain), a stranger gets only
    // ciphertexts it cannot open.
    let alice_index = look_up_index(&kb.shared_secret(ka.public_key()), ka.public_key());
    let copied = w
        .chain()
        .priv_get_pub_address(&alice_index, "bob@devnet", "BTC", "BTC")
        .await
        .unwrap()
        .unwrap();
    assert!(!copied.public_address.contains("bc1q"));
    assert!(LevelKey::from_grant(
        &kd.shared_secret_candidates(kb.public_key()),
        &copied.decrypt_key
    )
    .is_err());

    // Chain level covers future NBPAs of the chain: Bob replaces his BTC one.
    bob.place_nbpas(&[nbpa("BTC", "BTC", "bc1qbobsnewaddress")])
        .await
        .unwrap();
    assert_eq!(
        alice
            .lookup_nbpa("bob@devnet", "BTC", "BTC")
            .await
            .unwrap()
            .as_deref(),
        Some("bc1qbobsnewaddress")
    );

    // Removing Alice takes her access away.
    bob.remove_friend("alice@devnet").await.unwrap();
    assert!(!alice.is_on_friend_list_of("bob@devnet").await.unwrap());
    assert_eq!(
        alice.lookup_nbpa("bob@devnet", "BTC", "BTC").await.unwrap(),
        None
    );
    assert_eq!(bob.friend_count().unwrap(), 1);

    // Typed errors for what cannot be done.
    assert!(matches!(
        bob.grant("dave@devnet", &[Grant::Address]).await,
        Err(FriendsError::NotAFriend(_))
    ));
    assert!(matches!(
        bob.grant(
            "carol@devnet",
            &[Grant::Nbpa {
                chain_code: "SOL".into(),
                token_code: "SOL".into()
            }]
        )
        .await,
        Err(FriendsError::UnknownNbpa { .. })
    ));
    assert!(matches!(
        bob.place_nbpas(&[nbpa("BTC!", "BTC", "x")]).await,
        Err(FriendsError::InvalidInput {
            field: "chain_code",
            ..
        })
    ));
    assert!(matches!(
        bob.place_nbpas(&vec![nbpa("BTC", "BTC", "x"); 6]).await,
        Err(FriendsError::InvalidInput {
            field: "public_addresses",
            ..
        })
    ));
}

fn request(amount: &str, memo: &str) -> NewFundsContent {
    NewFundsContent {
        payee_public_address: "bc1qbobgetspaidhere".into(),
        amount: amount.into(),
        chain_code: "BTC".into(),
        token_code: "BTC".into(),
        memo: Some(memo.into()),
        hash: None,
        offline_url: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn story_two_a_private_funds_request_is_found_rejected_and_paid() {
    let [kb, ka] = std::array::from_fn(|_| PrivateKey::generate());
    let w = world(&[("bob", &kb), ("alice", &ka)]).await;
    let (payee, payer) = (w.friends("bob", &kb), w.friends("alice", &ka));

    // The payer has not friended the payee: the request would never be found.
    assert!(matches!(
        payee
            .request_funds("alice@devnet", &request("0.25", "dinner"))
            .await,
        Err(FriendsError::NotOnTheirFriendList(_))
    ));
    payer.add_friend("bob@devnet").await.unwrap();
    let first = payee
        .request_funds("alice@devnet", &request("0.25", "dinner"))
        .await
        .unwrap()
        .unwrap();
    let second = payee
        .request_funds("alice@devnet", &request("1.5", "rent share"))
        .await
        .unwrap()
        .unwrap();
    // The payee added the payer to its own list, as the FIP asks.
    assert_eq!(payee.friend_count().unwrap(), 1);

    // The payer finds both through its look-up indexes.
    let found = payer.received_requests().await.unwrap();
    assert_eq!(found.skipped, 0);
    assert_eq!(
        found
            .items
            .iter()
            .map(|r| r.fio_request_id)
            .collect::<Vec<_>>(),
        vec![first, second]
    );
    assert_eq!(found.items[0].content, request("0.25", "dinner"));
    assert_eq!(found.items[0].payee_fio_address, "bob@devnet");
    assert_eq!(found.items[0].payee_public_key, *kb.public_key());
    assert!(found
        .items
        .iter()
        .all(|r| r.status == RequestStatus::Requested));

    // It rejects the first and pays the second.
    payer.reject_request(&found.items[0]).await.unwrap();
    let payment = RecordObtDataContent {
        payer_public_address: "bc1qalicepays".into(),
        payee_public_address: "bc1qbobgetspaidhere".into(),
        amount: "1.5".into(),
        chain_code: "BTC".into(),
        token_code: "BTC".into(),
        obt_id: "f1e2d3c4b5a6".into(),
        memo: Some("rent share".into()),
        ..Default::default()
    };
    payer
        .pay_request(&found.items[1], payment.clone())
        .await
        .unwrap();

    // The payee sees both statuses.
    let sent = payee.sent_requests().await.unwrap();
    assert_eq!(sent.skipped, 0);
    assert_eq!(sent.items.len(), 2);
    assert_eq!(sent.items[0].payer_fio_address, "alice@devnet");
    assert_eq!(sent.items[0].status, RequestStatus::Rejected);
    let paid = RecordObtDataContent {
        status: "sent_to_blockchain".into(),
        ..payment
    };
    assert_eq!(
        sent.items[1].status,
        RequestStatus::Paid(Box::new(paid.clone()))
    );
    // The payee cannot answer its own request: it would pay itself.
    let own = payee.pay_request(&sent.items[1], paid.clone()).await;
    assert!(
        matches!(own, Err(FriendsError::NotAddressedToUs(id)) if id == sent.items[1].fio_request_id)
    );
    let own = payee.reject_request(&sent.items[0]).await;
    assert!(matches!(own, Err(FriendsError::NotAddressedToUs(_))));
    let actions = payee.received_actions().await.unwrap();
    assert_eq!(actions.items.len(), 2);
    assert_eq!(actions.items[1].content.record, paid);
    assert_eq!(
        actions.items[1].content.fio_request_id,
        Some(second.to_string())
    );
    // And the payer's own view joins its actions too.
    let mine = payer.received_requests().await.unwrap();
    assert_eq!(mine.items[0].status, RequestStatus::Rejected);
    assert!(matches!(mine.items[1].status, RequestStatus::Paid(_)));

    // A chain observer reads every FIP-3 row the devnet holds: the requests
    // never name the payer, the actions never name the payee, and no amount
    // or memo appears anywhere.
    let conn = rusqlite::Connection::open(&w.db).unwrap();
    let dump = |table: &str| -> String {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join(" "))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>()
        .join("\n")
    };
    let (requests, actions) = (dump("priv_requests"), dump("priv_actions"));
    assert!(requests.contains("bob@devnet"));
    for payer_id in ["alice@devnet".to_string(), ka.public_key().to_fio_string()] {
        assert!(!requests.contains(&payer_id), "{requests}");
    }
    for payee_id in ["bob@devnet".to_string(), kb.public_key().to_fio_string()] {
        assert!(!actions.contains(&payee_id), "{actions}");
    }
    for secret in ["0.25", "1.5", "dinner", "rent share", "bc1q"] {
        assert!(
            !requests.contains(secret) && !actions.contains(secret),
            "{secret}"
        );
    }
    // Nor do the sizes tell (FIP-3 content profile 2): the rejected and the
    // paid action are as long as each other, and so are the two requests.
    let lengths = |table: &str| -> Vec<usize> {
        let mut stmt = conn
            .prepare(&format!("SELECT length(content) FROM {table}"))
            .unwrap();
        stmt.query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|n| n.unwrap() as usize)
            .collect()
    };
    for table in ["priv_requests", "priv_actions"] {
        let sizes = lengths(table);
        assert_eq!(sizes.len(), 2, "{table}");
        assert_eq!(sizes[0], sizes[1], "{table}: {sizes:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_friend_list_is_restored_from_the_seed_phrase() {
    let mnemonic = generate_mnemonic(12).unwrap();
    let key = derive_from_mnemonic(&mnemonic).unwrap();
    let others: Vec<PrivateKey> = (0..4).map(|_| PrivateKey::generate()).collect();
    let mut parties = vec![("owner", &key)];
    let names: Vec<String> = (0..4).map(|i| format!("friend{i}")).collect();
    for (n, k) in names.iter().zip(&others) {
        parties.push((n.as_str(), k));
    }
    let w = world(&parties).await;
    let dir = tempfile::tempdir().unwrap();
    let owner = w.friends_at("owner", &key, Some(&dir.path().join("first.sqlite")));
    for n in &names {
        owner.add_friend(&format!("{n}@devnet")).await.unwrap();
    }
    owner.remove_friend("friend2@devnet").await.unwrap();
    let before = owner.friends(100, 0).unwrap();
    assert_eq!(before.len(), 3);

    // A fresh database, the key derived again from the words alone.
    let again = derive_from_mnemonic(&mnemonic).unwrap();
    let restored = w.friends_at("owner", &again, Some(&dir.path().join("fresh.sqlite")));
    assert_eq!(restored.friend_count().unwrap(), 0);
    let report = restored.restore().await.unwrap();
    assert_eq!((report.restored, report.skipped), (3, 0));
    let after = restored.friends(100, 0).unwrap();
    let view = |list: &[fio_peer::friends::Friend]| {
        list.iter()
            .map(|f| (f.public_key, f.fio_address.clone(), f.look_up_index.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(view(&after), view(&before));
    // Restoring twice changes nothing; another key restores nothing.
    assert_eq!(restored.restore().await.unwrap().restored, 3);
    assert_eq!(restored.friend_count().unwrap(), 3);
    let stranger = w.friends("friend0", &others[0]);
    assert_eq!(stranger.restore().await.unwrap(), Default::default());
    // The chain holds only look-up indexes and ciphertext.
    let page = w
        .chain()
        .priv_get_friend_list(&key.public_key().to_fio_string(), Page::default())
        .await
        .unwrap();
    assert_eq!(page.friends.len(), 3);
    assert!(page
        .friends
        .iter()
        .all(|f| !f.content.contains("devnet") && !f.content.contains("FIO")));
}

#[tokio::test(flavor = "multi_thread")]
async fn records_filed_by_others_under_copied_indexes_are_skipped() {
    use fio_peer::chain::{Name, PrivFundsRequest, PrivRecordSend, PrivacyAction};
    use fio_peer::friends::request_index;
    let [kb, ka, kd] = std::array::from_fn(|_| PrivateKey::generate());
    let w = world(&[("bob", &kb), ("alice", &ka), ("dave", &kd)]).await;
    let (payee, payer) = (w.friends("bob", &kb), w.friends("alice", &ka));
    payer.add_friend("bob@devnet").await.unwrap();
    let id = payee
        .request_funds("alice@devnet", &request("2", "real"))
        .await
        .unwrap()
        .unwrap();

    // Dave reads the indexes off the chain and files his own records under
    // them: a request "for Alice" and an action "for Bob". He can only sign
    // as himself, so the chain shows his key on both.
    let chain = w.chain();
    let for_alice = request_index(&kb.shared_secret(ka.public_key()), ka.public_key());
    let for_bob = request_index(&ka.shared_secret(kb.public_key()), kb.public_key());
    let dave = Name::parse(&kd.public_key().account_name()).unwrap();
    let junk = fio_peer::crypto::encrypt_content(&kd, ka.public_key(), &request("999", "pay me"));
    chain
        .push_privacy(
            &kd,
            PrivacyAction::FundsRequest(PrivFundsRequest {
                payee_fio_address: "dave@devnet".into(),
                payee_fio_public_key: kd.public_key().to_fio_string(),
                lookup_index_for_payer: for_alice,
                content: junk,
                max_fee: 10_000_000_000,
                tpid: String::new(),
                actor: dave,
            }),
        )
        .await
        .unwrap();
    chain
        .push_privacy(
            &kd,
            PrivacyAction::RecordSend(PrivRecordSend {
                payer_fio_address: "dave@devnet".into(),
                payer_fio_public_key: kd.public_key().to_fio_string(),
                lookup_index_for_payee: for_bob,
                content: "bm90IGEgY2lwaGVydGV4dA==".into(),
                max_fee: 10_000_000_000,
                tpid: String::new(),
                actor: dave,
            }),
        )
        .await
        .unwrap();

    let received = payer.received_requests().await.unwrap();
    assert_eq!(received.skipped, 1);
    assert_eq!(received.items.len(), 1);
    assert_eq!(received.items[0].fio_request_id, id);
    let actions = payee.received_actions().await.unwrap();
    assert_eq!((actions.items.len(), actions.skipped), (0, 1));
    let sent = payee.sent_requests().await.unwrap();
    assert_eq!(sent.items[0].status, RequestStatus::Requested);
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_in_any_case_and_unknown_key_ids() {
    let [kb, kc] = std::array::from_fn(|_| PrivateKey::generate());
    let w = world(&[("bob", &kb), ("carol", &kc)]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bob.sqlite");
    let (bob, carol) = (w.friends_at("bob", &kb, Some(&db)), w.friends("carol", &kc));
    bob.add_friend("carol@devnet").await.unwrap();
    // Lower-case codes are the same codes: placed, granted and looked up in any case.
    bob.place_nbpas(&[nbpa("btc", "btc", "bc1qlower")])
        .await
        .unwrap();
    bob.place_nbpas(&[nbpa("BTC", "BTC", "bc1qupper")])
        .await
        .unwrap();
    assert_eq!(bob.own_nbpas().unwrap().len(), 1);
    bob.grant("carol@devnet", &[Grant::Chain("Btc".into())])
        .await
        .unwrap();
    assert_eq!(
        carol
            .lookup_nbpa("bob@devnet", "btc", "BTC")
            .await
            .unwrap()
            .as_deref(),
        Some("bc1qupper")
    );

    // An NBPA the chain accepted without answering its id (a 409) is placed
    // again when an NBPA-level grant needs the id.
    bob.place_nbpas(&[nbpa("ETH", "ETH", "0xB0B")])
        .await
        .unwrap();
    fio_peer::store::open(&db, &fio_peer::store::DatabaseKey::derive(&kb))
        .unwrap()
        .execute(
            "UPDATE own_nbpas SET key_id = NULL WHERE chain_code = 'ETH'",
            [],
        )
        .unwrap();
    bob.grant(
        "carol@devnet",
        &[Grant::Nbpa {
            chain_code: "eth".into(),
            token_code: "eth".into(),
        }],
    )
    .await
    .unwrap();
    assert!(bob.own_nbpas().unwrap().iter().all(|n| n.key_id.is_some()));
    assert_eq!(
        carol
            .lookup_nbpa("bob@devnet", "ETH", "ETH")
            .await
            .unwrap()
            .as_deref(),
        Some("0xB0B")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copied_look_up_index_does_not_fake_friendship() {
    use fio_peer::chain::{AddFriend, Name, PrivacyAction};
    let [kb, ka, kd] = std::array::from_fn(|_| PrivateKey::generate());
    let w = world(&[("bob", &kb), ("alice", &ka), ("dave", &kd)]).await;
    let (bob, alice) = (w.friends("bob", &kb), w.friends("alice", &ka));
    bob.add_friend("alice@devnet").await.unwrap();
    // Dave copies Alice's index (it is on chain) onto his own list.
    let index = look_up_index(&kb.shared_secret(ka.public_key()), ka.public_key());
    w.chain()
        .push_privacy(
            &kd,
            PrivacyAction::AddFriend(AddFriend {
                fio_public_key_hash: index.clone(),
                content: "copied".into(),
                max_fee: 10_000_000_000,
                tpid: String::new(),
                actor: Name::parse(&kd.public_key().account_name()).unwrap(),
            }),
        )
        .await
        .unwrap();
    bob.remove_friend("alice@devnet").await.unwrap();
    // The FIP's check answers for any list; the wallet reads Bob's own.
    assert!(w.chain().priv_check_friend_list(&index).await.unwrap());
    assert!(!alice.is_on_friend_list_of("bob@devnet").await.unwrap());
    assert!(matches!(
        alice.request_funds("bob@devnet", &request("1", "x")).await,
        Err(FriendsError::NotOnTheirFriendList(_))
    ));
}
