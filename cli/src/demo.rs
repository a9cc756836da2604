//! `fio-peer demo`: a local FIO chain (fio-devnet) and an inbox relay
//! (fio-inbox) in this process on loopback ports, four wallets on their own
//! SQLite files, and every FIP-24 action and both FIP-3 stories between
//! them over HTTP. Each step is checked on the other side; the command
//! exits 0 only if every check held.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use fio_devnet::{Genesis, Running};
use fio_peer::chain::{ChainClient, ChainConfig, ChainId, Page};
use fio_peer::crypto::{NewFundsContent, PrivateKey, RecordObtDataContent};
use fio_peer::friends::{Friends, FriendsConfig, Grant, Nbpa, RequestStatus};
use fio_peer::protocol::Action;
use fio_peer::sync::{CancelToken, SyncConfig, SyncEngine};
use fio_peer::wallet::{
    Acceptance, AddressRequest, ChannelState, Direction, FundsRequest, KeyDirectory, RequestState,
    Wallet,
};
use serde_json::{json, Value};

use crate::error::{CliError, CliResult};
use crate::home;

/// The local devnet chain id (fio.devtools').
const DEVNET_CHAIN: &str = "cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f";
const NAMES: [&str; 4] = ["alice", "bob", "carol", "dave"];
const BTC_ADDRESS: &str = "bc1q96kdtk68aw7ew5fw2f33cpxsvzcvpxw7mmat7n";

#[derive(Args)]
pub struct DemoArgs {
    /// Keep the directory, the devnet and the relay running afterwards, so
    /// the wallets can be explored with the CLI (Ctrl-C stops them).
    #[arg(long)]
    keep: bool,
    /// Put the wallets and servers' files here instead of a temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The transcript: printed as it happens, or collected for `--json`.
struct Transcript {
    json: bool,
    steps: Vec<Value>,
    checks: usize,
}

impl Transcript {
    fn section(&mut self, title: &str) {
        if !self.json {
            println!("\n{title}");
        }
    }

    /// One thing a wallet did: `who` (e.g. "alice → bob"), the FIP's name
    /// of the action, and what it carried.
    fn step(&mut self, who: &str, action: &str, text: impl Into<String>) {
        let text = text.into();
        if !self.json {
            println!("  {who:<14} {action:<32} {text}");
        }
        self.steps
            .push(json!({"who": who, "action": action, "text": text, "checks": []}));
    }

    /// A check of what the other side saw; a failure ends the demo.
    fn check(&mut self, ok: bool, what: impl Into<String>) -> Result<(), CliError> {
        let what = what.into();
        if let Some(last) = self.steps.last_mut() {
            last["checks"]
                .as_array_mut()
                .expect("checks is an array")
                .push(json!({"check": what, "ok": ok}));
        }
        if !ok {
            return Err(CliError::new(format!(
                "the demo failed a check: {what}. This is a bug in fio-peer; please report it with the transcript (--json gives it as JSON)."
            )));
        }
        self.checks += 1;
        if !self.json {
            println!("  {:<14} ✓ {what}", "");
        }
        Ok(())
    }
}

/// Turns any error of a step into the CLI's error.
fn step_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> CliError {
    move |e| CliError::new(format!("the demo could not {what}: {e}"))
}

struct Party {
    name: &'static str,
    address: String,
    key: PrivateKey,
    wallet: Arc<Wallet>,
    engine: Option<SyncEngine>,
    friends: Friends,
}

impl Party {
    fn sync(&self) -> Result<(u64, u64), CliError> {
        match &self.engine {
            Some(e) => {
                let r = e
                    .sync_blocking(None, CancelToken::new())
                    .map_err(step_err("sync a wallet"))?;
                Ok((r.fetched, r.delivered))
            }
            None => Ok((0, 0)),
        }
    }
}

/// Syncs everyone in turn until a round moves nothing.
fn settle(parties: &[&Party]) -> Result<(), CliError> {
    for _ in 0..20 {
        let mut moved = 0;
        for p in parties {
            let (fetched, delivered) = p.sync()?;
            moved += fetched + delivered;
        }
        let pending: usize = parties
            .iter()
            .map(|p| p.wallet.outbox().map(|o| o.len()).unwrap_or(0))
            .sum();
        if moved == 0 && pending == 0 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(CliError::new(
        "the demo's wallets did not finish exchanging messages in 20 sync rounds",
    ))
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(step_err("start its runtime"))
}

pub fn run(args: DemoArgs, json: bool) -> CliResult {
    let started = Instant::now();
    // The temporary directory goes when `temp` is dropped, unless kept.
    let mut temp = None;
    let dir = match &args.dir {
        Some(d) => {
            let used = std::fs::read_dir(d)
                .map(|mut e| e.next().is_some())
                .unwrap_or(false);
            if used {
                return Err(CliError::usage(format!(
                    "{} is not empty: give --dir a new or empty directory (each demo makes new keys and a new chain)",
                    d.display()
                )));
            }
            std::fs::create_dir_all(d).map_err(step_err("create its directory"))?;
            d.clone()
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("fio-peer-demo-")
                .tempdir()
                .map_err(step_err("create a temporary directory"))?;
            if args.keep {
                t.keep()
            } else {
                let path = t.path().to_path_buf();
                temp = Some(t);
                path
            }
        }
    };
    let mut t = Transcript {
        json,
        steps: Vec::new(),
        checks: 0,
    };

    // ---- setup: devnet, relay, wallets ----
    let keys: Vec<PrivateKey> = NAMES.iter().map(|_| PrivateKey::generate()).collect();
    let parties_keys: Vec<(&str, &fio_peer::crypto::PublicKey)> = NAMES
        .iter()
        .zip(&keys)
        .map(|(n, k)| (*n, k.public_key()))
        .collect();
    // 1,000 FIO each, for FIP-3's fees.
    let genesis = Genesis::with_parties("demo", &parties_keys, 1_000_000_000_000);
    let servers = runtime()?;
    let devnet = servers
        .block_on(Running::start(Some(&dir.join("devnet.sqlite")), &genesis))
        .map_err(step_err("start the devnet"))?;
    let relay = servers
        .block_on(fio_inbox::spawn_on_loopback(
            dir.join("relay.sqlite").to_str().unwrap_or_default(),
        ))
        .map_err(step_err("start the relay"))?;
    let chain_config = {
        let mut c = ChainConfig::new(
            ChainId::parse(DEVNET_CHAIN).expect("valid chain id"),
            vec![devnet.url()],
        );
        c.timeout = Duration::from_secs(10);
        c
    };
    let chain = ChainClient::new(chain_config.clone()).map_err(step_err("reach the devnet"))?;
    let driver = runtime()?;
    let mut parties = Vec::new();
    for (name, key) in NAMES.iter().zip(&keys) {
        let address = format!("{name}@demo");
        let home = dir.join(name);
        home::create_dir(&home).map_err(step_err("create a wallet directory"))?;
        let directory: Arc<dyn KeyDirectory> = Arc::new(chain.clone());
        let wallet = Arc::new(
            Wallet::open(home.join(home::WALLET_DB), key.clone(), &address, directory)
                .map_err(step_err("open a wallet"))?,
        );
        home::restrict(&home.join(home::WALLET_DB)).map_err(step_err("protect a wallet"))?;
        // Alice and Bob message each other through the relay; Carol and Dave
        // only appear in the FIP-3 stories.
        let engine = if *name == "alice" || *name == "bob" {
            Some(
                SyncEngine::new(
                    wallet.clone(),
                    chain.clone(),
                    SyncConfig {
                        relay: Some(relay.clone()),
                        retry_base: Duration::from_millis(50),
                        retry_max: Duration::from_millis(400),
                        // The demo's relay is on this machine.
                        allow_insecure_destinations: true,
                        ..SyncConfig::default()
                    },
                )
                .map_err(step_err("start a sync engine"))?,
            )
        } else {
            None
        };
        let friends = Friends::new(wallet.clone(), chain.clone(), FriendsConfig::default())
            .map_err(step_err("start FIP-3"))?;
        home::write(
            &home,
            &home::Config {
                network: "devnet".into(),
                chain_id: Some(DEVNET_CHAIN.into()),
                nodes: vec![devnet.url()],
                relay: engine.as_ref().map(|_| relay.clone()),
            },
            &home::WalletFile::new(&address, key),
        )
        .map_err(step_err("write a wallet's configuration"))?;
        parties.push(Party {
            name,
            address,
            key: key.clone(),
            wallet,
            engine,
            friends,
        });
    }
    let [alice, bob, carol, dave] = &parties[..] else {
        unreachable!("four parties")
    };
    if !json {
        println!("fio-peer demo: four wallets, a local FIO chain and an inbox relay, over HTTP on loopback");
        println!(
            "  devnet   {} (chain {}…)",
            devnet.url(),
            &DEVNET_CHAIN[..8]
        );
        println!("  relay    {relay}");
        println!("  wallets  {}/{{alice,bob,carol,dave}}", dir.display());
    }

    let ran = fip24(&mut t, alice, bob, &chain, &driver)
        .and_then(|_| fip3(&mut t, alice, bob, carol, dave, &chain, &driver));
    if let Err(mut e) = ran {
        if json {
            e.output = Some(json!({"ok": false, "error": e.message, "steps": t.steps}));
        }
        return Err(e);
    }

    let seconds = started.elapsed().as_secs_f64();
    let summary = format!(
        "All {} checks of {} steps held, in {seconds:.1} s.",
        t.checks,
        t.steps.len()
    );
    if args.keep {
        let how = format!(
            "The devnet ({}) and the relay ({relay}) keep running, and {} keeps the wallets. Explore with, for example:\n  FIO_PEER_HOME={}/alice fio-peer channel list\nPress Ctrl-C to stop.",
            devnet.url(),
            dir.display(),
            dir.display()
        );
        if json {
            println!(
                "{}",
                json!({"ok": true, "steps": t.steps, "checks": t.checks, "seconds": seconds, "dir": dir, "devnet": devnet.url(), "relay": relay})
            );
        } else {
            println!("\n{summary}\n{how}");
        }
        servers
            .block_on(tokio::signal::ctrl_c())
            .map_err(step_err("wait for Ctrl-C (the servers stop now)"))?;
        return Ok(Value::Null);
    }
    // Close every file in the directory before removing it.
    drop(parties);
    drop(devnet);
    drop(servers);
    drop(temp);
    if json {
        Ok(json!({"ok": true, "steps": t.steps, "checks": t.checks, "seconds": seconds}))
    } else {
        println!("\n{summary}");
        Ok(Value::Null)
    }
}

fn fip24(
    t: &mut Transcript,
    alice: &Party,
    bob: &Party,
    chain: &ChainClient,
    driver: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    let both = [alice, bob];
    t.section("FIP-24: secure messages through inboxes");
    for p in both {
        p.sync()?;
        let inbox = p
            .wallet
            .own_inbox()
            .map_err(step_err("read an inbox"))?
            .ok_or_else(|| CliError::new("the demo's wallet has no inbox after its first sync"))?;
        t.step(
            p.name,
            "addaddress (FIB/URL)",
            format!(
                "creates its inbox on the relay and registers it on chain: {}",
                inbox.inbox_url
            ),
        );
        let on_chain = driver
            .block_on(chain.get_pub_address(&p.address, "FIB", "URL"))
            .map_err(step_err("read the chain"))?;
        t.check(
            on_chain == inbox.inbox_url,
            "the chain maps FIB/URL to that inbox",
        )?;
    }

    let hello = alice
        .wallet
        .open_channel(&bob.address, Some("Hello Bob, it's Alice"))
        .map_err(step_err("open a channel"))?;
    t.step(
        "alice → bob",
        Action::NewComRequest.name(),
        "\"Hello Bob, it's Alice\"",
    );
    settle(&both)?;
    let queue = bob.wallet.queue().map_err(step_err("read a queue"))?;
    t.check(
        queue.iter().any(|q| {
            q.action == Action::NewComRequest
                && q.message.data.memo.as_deref() == Some("Hello Bob, it's Alice")
        }),
        "bob's queue shows the channel request and its memo",
    )?;
    let sent = history(alice, &bob.address)?;
    t.check(
        sent.first().is_some_and(|m| m.peer_status.is_none()),
        "bob answers nothing before he accepts: alice's request has no status yet",
    )?;
    bob.wallet
        .accept_request(&alice.address, &hello.message_id, Acceptance::default())
        .map_err(step_err("accept a request"))?;
    t.step(
        "bob → alice",
        Action::AcceptRequest.name(),
        "accepts the channel",
    );
    settle(&both)?;
    t.check(
        channel_state(alice, &bob.address)? == Some(ChannelState::Open)
            && channel_state(bob, &alice.address)? == Some(ChannelState::Open),
        "the channel is open on both sides",
    )?;

    let ask = |memo: &str, amount: &str| {
        alice.wallet.request_funds(
            &bob.address,
            FundsRequest {
                payee_public_address: BTC_ADDRESS.into(),
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                amount: amount.into(),
                memo: Some(memo.into()),
                ..Default::default()
            },
        )
    };
    let r1 = ask("dinner", "0.000852").map_err(step_err("request funds"))?;
    t.step(
        "alice → bob",
        Action::NewFundsRequest.name(),
        "0.000852 BTC \"dinner\"",
    );
    let r2 = ask("the whole rent", "0.4").map_err(step_err("request funds"))?;
    t.step(
        "alice → bob",
        Action::NewFundsRequest.name(),
        "0.4 BTC \"the whole rent\"",
    );
    let r3 = ask("sent by mistake", "1").map_err(step_err("request funds"))?;
    t.step(
        "alice → bob",
        Action::NewFundsRequest.name(),
        "1 BTC \"sent by mistake\"",
    );
    settle(&both)?;
    let incoming = requests(bob)?;
    t.check(
        [&r1, &r2, &r3].iter().all(|r| {
            incoming
                .iter()
                .any(|x| x.message_id == r.message_id && x.state == RequestState::Pending)
        }),
        "bob sees three pending funds requests with their amounts and memos",
    )?;
    t.step(
        "bob → alice",
        Action::ReturnMessageStatus.name(),
        "success for each (sent automatically on receipt, in an accepted channel)",
    );
    let sent = history(alice, &bob.address)?;
    t.check(
        [&r1, &r2, &r3].iter().all(|r| {
            sent.iter().any(|m| {
                m.message_id == r.message_id && m.peer_status.as_deref() == Some("success")
            })
        }),
        "alice's requests show bob's status: success",
    )?;
    bob.wallet
        .accept_request(
            &alice.address,
            &r1.message_id,
            Acceptance {
                memo: Some("paid, enjoy".into()),
                ..Default::default()
            },
        )
        .map_err(step_err("accept a request"))?;
    t.step(
        "bob → alice",
        Action::AcceptRequest.name(),
        "pays \"dinner\"",
    );
    bob.wallet
        .reject_request(&alice.address, &r2.message_id, Some("too much"))
        .map_err(step_err("reject a request"))?;
    t.step("bob → alice", Action::RejectRequest.name(), "\"too much\"");
    alice
        .wallet
        .cancel_request(&bob.address, &r3.message_id, Some("sorry"))
        .map_err(step_err("cancel a request"))?;
    t.step(
        "alice → bob",
        Action::CancelRequest.name(),
        "withdraws \"sent by mistake\"",
    );
    settle(&both)?;
    for p in both {
        let all = requests(p)?;
        let state = |id: &str| all.iter().find(|r| r.message_id == id).map(|r| r.state);
        t.check(
            state(&r1.message_id) == Some(RequestState::Paid)
                && state(&r2.message_id) == Some(RequestState::Rejected)
                && state(&r3.message_id) == Some(RequestState::Cancelled),
            format!("{} sees paid, rejected and cancelled", p.name),
        )?;
    }

    let addr_ask = bob
        .wallet
        .request_public_address(
            &alice.address,
            AddressRequest {
                chain_code: "ETH".into(),
                token_code: "ETH".into(),
                memo: Some("for the concert tickets".into()),
                amount: None,
            },
        )
        .map_err(step_err("request a public address"))?;
    t.step(
        "bob → alice",
        Action::NewPubAddressRequest.name(),
        "ETH/ETH \"for the concert tickets\"",
    );
    settle(&both)?;
    let eth = "0xab5801a7d398351b8be11c439e05c5b3259aec9b";
    alice
        .wallet
        .accept_request(
            &bob.address,
            &addr_ask.message_id,
            Acceptance {
                payee_public_address: Some(eth.into()),
                ..Default::default()
            },
        )
        .map_err(step_err("answer an address request"))?;
    t.step(
        "alice → bob",
        Action::AcceptRequest.name(),
        format!("answers with {eth}"),
    );
    settle(&both)?;
    let answered = requests(bob)?
        .into_iter()
        .find(|r| r.message_id == addr_ask.message_id)
        .and_then(|r| r.answer)
        .and_then(|a| a.payee_public_address);
    t.check(
        answered.as_deref() == Some(eth),
        "bob has alice's ETH address",
    )?;

    alice
        .wallet
        .send_private_text(&bob.address, "See you at 8!", None)
        .map_err(step_err("send a text"))?;
    t.step(
        "alice → bob",
        Action::SendPrivateText.name(),
        "\"See you at 8!\"",
    );
    settle(&both)?;
    t.check(
        texts(bob, &alice.address)?.contains(&"See you at 8!".to_string()),
        "bob reads the text",
    )?;
    bob.wallet
        .update_com_data(&alice.address, None, true)
        .map_err(step_err("update a channel"))?;
    t.step(
        "bob → alice",
        Action::UpdateComDataRequest.name(),
        "rotates the channel's id token",
    );
    settle(&both)?;
    alice
        .wallet
        .send_private_text(&bob.address, "Still there after the update?", None)
        .map_err(step_err("send a text"))?;
    t.step(
        "alice → bob",
        Action::SendPrivateText.name(),
        "\"Still there after the update?\"",
    );
    settle(&both)?;
    t.check(
        texts(bob, &alice.address)?.contains(&"Still there after the update?".to_string()),
        "the channel works with the new token",
    )?;
    push(t, alice, bob, driver)?;
    alice
        .wallet
        .close_channel(&bob.address, Some("bye"))
        .map_err(step_err("close a channel"))?;
    t.step("alice → bob", Action::CloseComRequest.name(), "\"bye\"");
    settle(&both)?;
    t.check(
        channel_state(alice, &bob.address)? == Some(ChannelState::Closed)
            && channel_state(bob, &alice.address)? == Some(ChannelState::Closed),
        "the channel is closed on both sides",
    )?;
    let mut seen = std::collections::HashSet::new();
    for m in history(alice, &bob.address)?
        .iter()
        .chain(&history(bob, &alice.address)?)
    {
        seen.insert(m.action);
    }
    t.check(
        seen.len() == 10,
        format!(
            "all ten FIP-24 actions crossed the relay ({} seen)",
            seen.len()
        ),
    )?;
    let a_out = ids(&history(alice, &bob.address)?, Direction::Outgoing);
    let b_in = ids(&history(bob, &alice.address)?, Direction::Incoming);
    t.check(
        a_out == b_in,
        "bob received everything alice sent, once and in order",
    )?;
    Ok(())
}

fn fip3(
    t: &mut Transcript,
    alice: &Party,
    bob: &Party,
    carol: &Party,
    dave: &Party,
    chain: &ChainClient,
    driver: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    t.section("FIP-3 story one: native-chain addresses, encrypted on chain, granted per friend");
    driver
        .block_on(bob.friends.add_friend(&alice.address))
        .map_err(step_err("add a friend"))?;
    t.step(
        "bob",
        "addfriend",
        "adds alice to his friend list (only a look-up index is public)",
    );
    let on = driver
        .block_on(alice.friends.is_on_friend_list_of(&bob.address))
        .map_err(step_err("check a friend list"))?;
    t.check(on, "alice confirms she is on bob's list")?;
    driver
        .block_on(bob.friends.add_friend(&carol.address))
        .map_err(step_err("add a friend"))?;
    t.step("bob", "addfriend", "adds carol");
    let eth = "0x71c7656ec7ab88b098defb751b7401b5f6d8976f";
    driver
        .block_on(bob.friends.place_nbpas(&[
            Nbpa {
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                public_address: BTC_ADDRESS.into(),
            },
            Nbpa {
                chain_code: "ETH".into(),
                token_code: "ETH".into(),
                public_address: eth.into(),
            },
        ]))
        .map_err(step_err("place NBPAs"))?;
    t.step(
        "bob",
        "privaddadr",
        "places his BTC and ETH addresses, each encrypted at three levels",
    );
    driver
        .block_on(
            bob.friends
                .grant(&alice.address, &[Grant::Chain("BTC".into())]),
        )
        .map_err(step_err("grant access"))?;
    t.step("bob", "privganbpa", "grants alice his BTC chain-level key");
    driver
        .block_on(bob.friends.grant(
            &carol.address,
            &[Grant::Nbpa {
                chain_code: "ETH".into(),
                token_code: "ETH".into(),
            }],
        ))
        .map_err(step_err("grant access"))?;
    t.step(
        "bob",
        "privganbpa",
        "grants carol the key of his one ETH address",
    );
    let look = |p: &Party, chain_code: &str| {
        driver
            .block_on(p.friends.lookup_nbpa(&bob.address, chain_code, chain_code))
            .map_err(step_err("look up an NBPA"))
    };
    t.step(
        "alice",
        "priv_get_pub_address",
        "looks up bob's BTC and ETH",
    );
    t.check(
        look(alice, "BTC")?.as_deref() == Some(BTC_ADDRESS) && look(alice, "ETH")?.is_none(),
        format!("alice sees BTC {BTC_ADDRESS} and no ETH"),
    )?;
    t.step(
        "carol",
        "priv_get_pub_address",
        "looks up bob's BTC and ETH",
    );
    t.check(
        look(carol, "ETH")?.as_deref() == Some(eth) && look(carol, "BTC")?.is_none(),
        format!("carol sees ETH {eth} and no BTC"),
    )?;
    t.step(
        "dave",
        "priv_get_pub_address",
        "a stranger looks up bob's BTC and ETH",
    );
    t.check(
        look(dave, "BTC")?.is_none() && look(dave, "ETH")?.is_none(),
        "dave sees nothing",
    )?;

    t.section("FIP-3 story two: a private funds request, its payer hidden from the chain");
    driver
        .block_on(alice.friends.add_friend(&bob.address))
        .map_err(step_err("add a friend"))?;
    t.step(
        "alice",
        "addfriend",
        "adds bob, so his requests can reach her",
    );
    let request = |amount: &str, memo: &str| NewFundsContent {
        payee_public_address: BTC_ADDRESS.into(),
        amount: amount.into(),
        chain_code: "BTC".into(),
        token_code: "BTC".into(),
        memo: Some(memo.into()),
        hash: None,
        offline_url: None,
    };
    let first = driver
        .block_on(
            bob.friends
                .request_funds(&alice.address, &request("0.0021", "concert tickets")),
        )
        .map_err(step_err("send a private request"))?;
    t.step(
        "bob → alice",
        "privfundsreq",
        "0.0021 BTC \"concert tickets\"",
    );
    let second = driver
        .block_on(
            bob.friends
                .request_funds(&alice.address, &request("0.35", "half the car")),
        )
        .map_err(step_err("send a private request"))?;
    t.step("bob → alice", "privfundsreq", "0.35 BTC \"half the car\"");
    let found = driver
        .block_on(alice.friends.received_requests())
        .map_err(step_err("read private requests"))?;
    t.step(
        "alice",
        "priv_get_received_fio_requests",
        "one batch of look-up indexes, one per friend",
    );
    t.check(
        found.items.len() == 2
            && found
                .items
                .iter()
                .map(|r| Some(r.fio_request_id))
                .collect::<Vec<_>>()
                == vec![first, second],
        "alice finds and decrypts both requests",
    )?;
    driver
        .block_on(alice.friends.reject_request(&found.items[1]))
        .map_err(step_err("reject a private request"))?;
    t.step("alice → bob", "privrecsend", "rejects \"half the car\"");
    driver
        .block_on(alice.friends.pay_request(
            &found.items[0],
            RecordObtDataContent {
                payer_public_address: "bc1qalice0000000000000000000000000000000".into(),
                payee_public_address: BTC_ADDRESS.into(),
                amount: "0.0021".into(),
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                obt_id: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b".into(),
                memo: Some("tickets paid".into()),
                ..Default::default()
            },
        ))
        .map_err(step_err("record a payment"))?;
    t.step(
        "alice → bob",
        "privrecsend",
        "records the payment of \"concert tickets\"",
    );
    let sent = driver
        .block_on(bob.friends.sent_requests())
        .map_err(step_err("read sent requests"))?;
    let statuses: Vec<&RequestStatus> = sent.items.iter().map(|r| &r.status).collect();
    t.step(
        "bob",
        "priv_get_sent_fio_requests",
        "joins his requests with the send actions",
    );
    t.check(
        matches!(
            statuses[..],
            [RequestStatus::Paid(_), RequestStatus::Rejected]
        ),
        "bob sees \"concert tickets\" paid and \"half the car\" rejected",
    )?;
    let observed =
        driver
            .block_on(chain.priv_get_sent_fio_requests(
                &bob.wallet.public_key().to_fio_string(),
                Page::default(),
            ))
            .map_err(step_err("read the chain"))?;
    let text = serde_json::to_string(&observed).unwrap_or_default();
    t.step(
        "observer",
        "priv_get_sent_fio_requests",
        "reads what the chain holds about bob's requests",
    );
    t.check(
        observed.requests.len() == 2
            && !text.contains(&alice.address)
            && !text.contains(&alice.wallet.public_key().to_fio_string())
            && !text.contains("0.0021")
            && !text.contains("concert"),
        "the chain shows bob as payee, but neither alice nor any amount or memo",
    )?;

    t.section("FIP-3: the friend list restored from the key alone");
    let fresh = Wallet::open_in_memory(bob.key.clone(), &bob.address, Arc::new(chain.clone()))
        .map_err(step_err("open a fresh wallet"))?;
    let restored = Friends::new(Arc::new(fresh), chain.clone(), FriendsConfig::default())
        .map_err(step_err("start FIP-3"))?;
    let report = driver
        .block_on(restored.restore())
        .map_err(step_err("restore a friend list"))?;
    t.step(
        "bob",
        "priv_get_friend_list",
        "a fresh database restores his list from the chain",
    );
    let names: Vec<String> = restored
        .friends(100, 0)
        .map_err(step_err("read friends"))?
        .into_iter()
        .map(|f| f.fio_address)
        .collect();
    t.check(
        report.restored == 2 && names == vec![alice.address.clone(), carol.address.clone()],
        "both friends are back: alice@demo and carol@demo",
    )?;
    Ok(())
}

/// Bob's app is closed: his relay pushes to his push gateway (here a
/// local one), and his notification extension receives and shows Alice's
/// request (docs/mobile.md "Push").
fn push(
    t: &mut Transcript,
    alice: &Party,
    bob: &Party,
    driver: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    let (url, got) = driver
        .block_on(local_gateway())
        .map_err(step_err("start a local push gateway"))?;
    let engine = bob.engine.as_ref().expect("bob syncs");
    // Bob's app has shown everything so far; then it closes.
    let seen = bob
        .wallet
        .last_event_id()
        .map_err(step_err("read the event log"))?;
    bob.wallet
        .mark_events_handled(seen)
        .map_err(step_err("mark events handled"))?;
    let target = fio_peer::sync::PushTarget::Gateway {
        url,
        app_id: "com.example.wallet".into(),
        pushkey: "bobs-phone".into(),
    };
    let registration = driver
        .block_on(engine.register_push(target, CancelToken::new()))
        .map_err(step_err("register a push target"))?;
    t.step(
        "bob → relay",
        "push registration",
        format!(
            "his phone, through a push gateway (push id {}…)",
            &registration.push_id[..8]
        ),
    );
    let inbox = bob
        .wallet
        .own_inbox()
        .map_err(step_err("read an inbox"))?
        .ok_or_else(|| CliError::new("bob has no inbox"))?;
    alice
        .wallet
        .request_funds(
            &bob.address,
            FundsRequest {
                payee_public_address: BTC_ADDRESS.into(),
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                amount: "0.0004".into(),
                memo: Some("coffee".into()),
                ..Default::default()
            },
        )
        .map_err(step_err("request funds"))?;
    t.step(
        "alice → bob",
        Action::NewFundsRequest.name(),
        "0.0004 BTC \"coffee\" (bob's app is closed)",
    );
    alice.sync()?;
    let mut note = None;
    for _ in 0..300 {
        note = got
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|v| v["notification"]["room_id"] == inbox.inbox_id.as_str())
            .cloned();
        if note.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let note = note.unwrap_or(Value::Null);
    let n = &note["notification"];
    t.step(
        "relay",
        "push to bob's gateway",
        format!(
            "event_id {}, room_id = bob's inbox, unread {}: no sender, no content",
            n["event_id"].as_str().unwrap_or("?"),
            n["counts"]["unread"]
        ),
    );
    t.check(
        n["devices"][0]["pushkey"] == "bobs-phone" && !note.to_string().contains("coffee"),
        "a push reached bob's gateway within seconds, naming only his inbox",
    )?;
    let shown = driver
        .block_on(engine.receive_for_notification(Duration::from_secs(5), None, CancelToken::new()))
        .map_err(step_err("receive for a notification"))?;
    let texts: Vec<&str> = shown.notices.iter().map(|n| n.text.as_str()).collect();
    t.step(
        "bob's phone",
        "receive_for_notification",
        format!("shows {:?}", texts.join("; ")),
    );
    t.check(
        texts == ["alice@demo requests 0.0004 BTC: coffee"],
        "bob's notification extension received the request and says what it is",
    )?;
    Ok(())
}

/// A Matrix push gateway on loopback for the demo: keeps each notification
/// and answers `{"rejected":[]}`.
async fn local_gateway() -> std::io::Result<(String, Arc<std::sync::Mutex<Vec<Value>>>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/_matrix/push/v1/notify", listener.local_addr()?);
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = got.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while buf.len() < 64 * 1024 {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    if let Ok(v) = serde_json::from_slice(&buf[end + 4..end + 4 + len]) {
                        kept.lock().unwrap_or_else(|e| e.into_inner()).push(v);
                    }
                    let answer = b"{\"rejected\":[]}";
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        answer.len()
                    );
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(answer).await;
                    return;
                }
            });
        }
    });
    Ok((url, got))
}

fn history(p: &Party, peer: &str) -> Result<Vec<fio_peer::wallet::MessageRecord>, CliError> {
    p.wallet.history(peer).map_err(step_err("read a history"))
}

fn requests(p: &Party) -> Result<Vec<fio_peer::wallet::RequestRecord>, CliError> {
    p.wallet.requests(None).map_err(step_err("read requests"))
}

fn channel_state(p: &Party, peer: &str) -> Result<Option<ChannelState>, CliError> {
    Ok(p.wallet
        .channel(peer)
        .map_err(step_err("read a channel"))?
        .map(|c| c.state))
}

fn texts(p: &Party, peer: &str) -> Result<Vec<String>, CliError> {
    Ok(history(p, peer)?
        .into_iter()
        .filter(|m| m.direction == Direction::Incoming && m.action == Action::SendPrivateText)
        .filter_map(|m| m.data.memo)
        .collect())
}

fn ids(history: &[fio_peer::wallet::MessageRecord], dir: Direction) -> Vec<String> {
    history
        .iter()
        .filter(|m| m.direction == dir)
        .map(|m| m.message_id.clone())
        .collect()
}
