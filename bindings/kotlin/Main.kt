// The Kotlin bindings on the JVM, against the devnet and relay that
// bindings/test.sh started: all ten FIP-24 actions between two wallets, the
// FIP-3 stories, and how the bindings behave (suspend functions, typed
// exceptions, callbacks from the library's threads, cancellation, close).
// Prints "N passed, M failed" and exits 1 on a failure.

import fio.peer.*
import java.io.File
import java.nio.file.Files
import java.util.Collections
import kotlin.test.*
import kotlinx.coroutines.*

const val ALICE = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK"
const val BOB = "5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt"
val KEYS = mapOf("alice" to ALICE, "bob" to BOB)

fun env(name: String) = System.getenv(name) ?: error("$name is not set (run bindings/test.sh)")

fun config(dir: File, name: String, longPoll: Int = 0) = WalletConfig(
    databasePath = File(dir, "$name.sqlite").path,
    fioAddress = "$name@bind",
    network = Network.Custom(env("FIO_TEST_CHAIN_ID")),
    chainNodes = listOf(env("FIO_TEST_DEVNET")),
    relay = env("FIO_TEST_RELAY"),
    longPollSeconds = longPoll,
    allowInsecureDestinations = true, // the test relay is on loopback
)

fun key(name: String) = FioKey.fromWif(KEYS.getValue(name))

fun tempDir(): File = Files.createTempDirectory("fio-peer-kt").toFile().also { it.deleteOnExit() }

/** Keeps every event and the thread it came on. */
class Recorder : WalletListener {
    val events: MutableList<WalletEvent> = Collections.synchronizedList(mutableListOf())
    val threads: MutableSet<Thread> = Collections.synchronizedSet(mutableSetOf())
    override fun onEvent(event: WalletEvent) {
        threads.add(Thread.currentThread())
        events.add(event)
    }
    /** Events come on the library's thread, maybe after the call returned. */
    fun waitFor(what: String, predicate: (WalletEvent) -> Boolean): WalletEvent {
        val deadline = System.currentTimeMillis() + 10_000
        while (System.currentTimeMillis() < deadline) {
            synchronized(events) { events.firstOrNull(predicate) }?.let { return it }
            Thread.sleep(20)
        }
        fail("no event: $what in ${events.toList()}")
    }
}

fun statusOf(e: WalletEvent, id: String): MessageStatus? =
    (e as? WalletEvent.MessageStatusChanged)?.takeIf { it.messageId == id }?.status

var passed = 0
var failed = 0

fun test(name: String, body: suspend () -> Unit) {
    try {
        runBlocking { body() }
        passed++
        println("ok   $name")
    } catch (t: Throwable) {
        failed++
        println("FAIL $name: $t")
        t.printStackTrace(System.out)
    }
}

suspend fun both(a: FioWallet, b: FioWallet) {
    a.sync(); b.sync(); a.sync()
}

fun main() {
    test("keys match fiojs and bad input is a typed exception") {
        assertEquals(12, newMnemonic(12).split(" ").size)
        assertEquals("FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv", FioKey.fromWif(ALICE).publicKey())
        val e = assertFailsWith<FioPeerException.InvalidInput> { newMnemonic(13) }
        assertEquals("words", e.field)
        assertEquals(1, e.code())
        assertFailsWith<FioPeerException.InvalidInput> { FioKey.fromWif("not a key") }
    }

    test("no secret in toString: keys, configs, exceptions") {
        val alice = key("alice")
        assertEquals("FioKey(FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv)", "$alice")
        assertEquals(alice, FioKey.fromWif(alice.exportWif()))
        val raw = ByteArray(32) { it.toByte() }
        val own = FioDatabaseKey.fromBytes(raw)
        assertEquals("FioDatabaseKey(…)", "$own")
        assertEquals("FioDatabaseKey(…)", FioDatabaseKey.derivedFrom(alice).toString())
        val printed = listOf("${config(tempDir(), "alice")}", "$alice", "$own",
            "${assertFailsWith<FioPeerException.InvalidInput> { FioKey.fromWif(ALICE.dropLast(1) + "x") }}",
            "${assertFailsWith<FioPeerException.InvalidInput> { FioDatabaseKey.fromBytes(raw.copyOf(31)) }}")
        val hex = raw.joinToString("") { "%02x".format(it) }
        for (text in printed) {
            assertFalse(ALICE.substring(0, 20) in text, text)
            assertFalse(hex.substring(0, 16) in text, text)
        }
        val words = newMnemonic(12)
        val fromWords = FioKey.fromMnemonic(words)
        assertEquals(fromWords, FioKey.fromMnemonic(words, 0))
        assertNotEquals(fromWords.publicKey(), FioKey.fromMnemonic(words, 1).publicKey())
        assertFalse(words.split(" ").first() in "$fromWords")
    }

    test("the database is encrypted, a wrong key changes nothing, rekey") {
        val dir = tempDir()
        FioWallet.open(key("alice"), config(dir, "alice")).use { it.sync() }
        val file = File(dir, "alice.sqlite")
        val bytes = String(file.readBytes(), Charsets.ISO_8859_1)
        // SQLite's 32-byte header stays plaintext (iOS recognises a WAL
        // database by it); 80 reserved bytes per page: encrypted.
        assertTrue(bytes.startsWith("SQLite format 3\u0000"))
        assertEquals(80, bytes[20].code)
        assertFalse("CREATE TABLE" in bytes)
        assertFalse("alice@bind" in bytes)
        val before = file.readBytes()
        val other = FioDatabaseKey.fromBytes(ByteArray(32) { 9 })
        assertFailsWith<FioPeerException.WrongDatabaseKey> { FioWallet.open(key("alice"), config(dir, "alice"), other) }
        assertContentEquals(before, file.readBytes())
        FioWallet.open(key("alice"), config(dir, "alice")).use { it.rekey(other) }
        assertFailsWith<FioPeerException.WrongDatabaseKey> { FioWallet.open(key("alice"), config(dir, "alice")) }
        FioWallet.open(key("alice"), config(dir, "alice"), databaseKey = other).use { alice ->
            assertNotNull(alice.inbox())
            alice.rekey(FioDatabaseKey.derivedFrom(key("alice")))
        }
        FioWallet.open(key("alice"), config(dir, "alice")).use { assertNotNull(it.inbox()) }
    }

    test("all ten FIP-24 actions between two wallets over HTTP") {
        val dir = tempDir()
        FioWallet.open(key("alice"), config(dir, "alice")).use { alice ->
        FioWallet.open(key("bob"), config(dir, "bob")).use { bob ->
            val heardByAlice = Recorder().also { alice.setListener(it) }
            val heardByBob = Recorder().also { bob.setListener(it) }
            assertTrue(alice.sync().registered)
            assertTrue(bob.sync().registered)

            // 1 peer_new_com_request, 4 peer_accept_request
            val hello = alice.openChannel("bob@bind", "Hi Bob")
            assertEquals(MessageAction.NEW_COM_REQUEST, hello.action)
            assertEquals(1L, alice.sync().delivered)
            assertEquals(1L, bob.sync().received)
            val item = bob.queue().single()
            assertEquals("Hi Bob", item.message.content.memo)
            assertEquals(ChannelStatus.REQUESTED, bob.channel("alice@bind")?.status)
            bob.acceptRequest("alice@bind", hello.messageId, AcceptanceData())
            // Answered, it no longer waits; its state is in requests.
            assertTrue(bob.queue().isEmpty())
            assertEquals(RequestStatus.ACCEPTED, bob.requests(peer = "alice@bind").single { it.messageId == hello.messageId }.status)
            bob.dismiss(item.id)
            both(alice, bob)
            assertEquals(ChannelStatus.OPEN, alice.channel("bob@bind")?.status)

            // 2 peer_new_funds_request (accepted: paid)
            val invoice = alice.requestFunds("bob@bind", FundsRequestData(
                payeePublicAddress = "bc1qalice", chainCode = "BTC", tokenCode = "BTC",
                amount = "0.01", memo = "pizza"))
            both(alice, bob)
            bob.acceptRequest("alice@bind", invoice.messageId, AcceptanceData(memo = "paid"))
            // 3 peer_new_pub_address_request
            val ask = alice.requestPublicAddress("bob@bind", AddressRequestData(chainCode = "ETH", tokenCode = "ETH"))
            both(alice, bob)
            bob.acceptRequest("alice@bind", ask.messageId, AcceptanceData(payeePublicAddress = "0xb0b"))
            // 6 peer_cancel_request
            val again = alice.requestFunds("bob@bind", FundsRequestData(
                payeePublicAddress = "bc1qalice", chainCode = "BTC", tokenCode = "BTC", amount = "1"))
            both(alice, bob)
            alice.cancelRequest("bob@bind", again.messageId, "never mind")
            // 5 peer_reject_request
            val bobs = bob.requestFunds("alice@bind", FundsRequestData(
                payeePublicAddress = "bc1qbob", chainCode = "BTC", tokenCode = "BTC", amount = "2"))
            both(alice, bob)
            alice.rejectRequest("bob@bind", bobs.messageId, "no")
            // 10 peer_send_private_text, 8 peer_update_com_data_request
            alice.sendPrivateText("bob@bind", "see you at 8")
            bob.updateComData("alice@bind", null, true)
            both(alice, bob)
            both(alice, bob)

            val states = alice.requests("bob@bind").associate { it.messageId to it.status }
            assertEquals(RequestStatus.PAID, states[invoice.messageId])
            assertEquals(RequestStatus.ACCEPTED, states[ask.messageId])
            assertEquals(RequestStatus.CANCELLED, states[again.messageId])
            assertEquals(RequestStatus.REJECTED, states[bobs.messageId])
            assertEquals("0xb0b", alice.requests(null).first { it.messageId == ask.messageId }.answer?.payeePublicAddress)
            val texts = bob.history("alice@bind").filter {
                it.action == MessageAction.SEND_PRIVATE_TEXT && it.direction == MessageDirection.INCOMING
            }.map { it.content.memo }
            assertEquals(listOf<String?>("see you at 8"), texts)

            // 9 peer_close_com_request
            alice.closeChannel("bob@bind", "bye")
            alice.sync(); bob.sync()
            assertEquals(ChannelStatus.CLOSED, bob.channel("alice@bind")?.status)
            // 7 peer_return_message_status answered the rest: all ten seen.
            val seen = (alice.history("bob@bind") + bob.history("alice@bind")).map { it.action }.toSet()
            assertEquals(MessageAction.values().toSet(), seen)

            // The listeners heard it, on a thread of the library's.
            heardByBob.waitFor("bob's queue item") {
                it is WalletEvent.QueueItemAdded && it.entry.message.action == MessageAction.NEW_COM_REQUEST
            }
            heardByAlice.waitFor("hello delivered") { statusOf(it, hello.messageId) is MessageStatus.Delivered }
            heardByAlice.waitFor("invoice paid") { statusOf(it, invoice.messageId) == MessageStatus.Accepted }
            heardByAlice.waitFor("invoice status") { statusOf(it, invoice.messageId) is MessageStatus.PeerStatus }
            heardByBob.waitFor("bob's request rejected") { statusOf(it, bobs.messageId) == MessageStatus.Rejected }
            heardByBob.waitFor("alice's request cancelled") { statusOf(it, again.messageId) == MessageStatus.Cancelled }
            heardByAlice.waitFor("progress") { it is WalletEvent.SyncProgress && it.step == SyncStep.DELIVERING }
            // (JNA attaches the library's event thread anew per call, so
            // the Thread objects differ; none is ours.)
            assertFalse(Thread.currentThread() in heardByAlice.threads)
        } }
    }

    test("FIP-3: friends, NBPAs granted per friend, private requests, restore") {
        val dir = tempDir()
        val alice = FioWallet.open(key("alice"), config(dir, "alice"))
        val bob = FioWallet.open(key("bob"), config(dir, "bob"))
        val fa = alice.friends()
        val fb = bob.friends()
        assertEquals(bob.publicKey(), fa.addFriend("bob@bind").publicKey)
        fb.addFriend("alice@bind")
        assertTrue(fb.isOnFriendListOf("alice@bind"))
        assertEquals(listOf("bob@bind"), fa.friends(10, 0).map { it.fioAddress })

        fa.placeNbpas(listOf(
            NbpaData(chainCode = "BTC", tokenCode = "BTC", publicAddress = "bc1qalice"),
            NbpaData(chainCode = "ETH", tokenCode = "USDT", publicAddress = "0xa11ce")))
        assertEquals(2, fa.ownNbpas().size)
        fa.grant("bob@bind", listOf(GrantScope.Nbpa(chainCode = "BTC", tokenCode = "BTC")))
        assertEquals("bc1qalice", fb.lookupNbpa("alice@bind", "BTC", "BTC"))
        assertNull(fb.lookupNbpa("alice@bind", "ETH", "USDT"))
        fa.grant("bob@bind", listOf(GrantScope.Chain(chainCode = "ETH")))
        assertEquals("0xa11ce", fb.lookupNbpa("alice@bind", "ETH", "USDT"))

        val request = FundsRequestData(payeePublicAddress = "bc1qbob", chainCode = "BTC",
            tokenCode = "BTC", amount = "0.5", memo = "rent")
        val id = assertNotNull(fb.requestFunds("alice@bind", request))
        val mine = fa.receivedRequests().items.single { it.fioRequestId == id }
        assertEquals("rent", mine.request.memo)
        assertEquals(PrivateRequestStatus.Requested, mine.status)
        fa.payRequest(mine, PaymentRecord(payerPublicAddress = "bc1qalice", payeePublicAddress = "bc1qbob",
            amount = "0.5", chainCode = "BTC", tokenCode = "BTC", obtId = "tx-1"))
        val paid = fb.sentRequests().items.single { it.fioRequestId == id }.status
        assertIs<PrivateRequestStatus.Paid>(paid)
        assertEquals("tx-1", paid.record.obtId)
        assertTrue(fb.receivedPayments().items.any { it.fioRequestId == id })

        val second = assertNotNull(fb.requestFunds("alice@bind", request))
        fa.rejectRequest(fa.receivedRequests().items.single { it.fioRequestId == second })
        assertEquals(PrivateRequestStatus.Rejected, fb.sentRequests().items.single { it.fioRequestId == second }.status)

        // A new phone: the list comes back from the key alone.
        FioWallet.open(key("alice"), config(tempDir(), "alice")).use { phone ->
            val restored = phone.friends()
            assertEquals(0L, restored.friendCount())
            assertEquals(1, restored.restore().restored)
            assertEquals(listOf("bob@bind"), restored.friends(10, 0).map { it.fioAddress })
            restored.removeFriend("bob@bind")
        }
        assertNull(fb.lookupNbpa("alice@bind", "BTC", "BTC"))
        alice.close(); bob.close()
    }

    test("typed exceptions for bad input, wrong state, chain refusals and network failures") {
        val dir = tempDir()
        FioWallet.open(key("alice"), config(dir, "alice")).use { alice ->
            val bad = assertFailsWith<FioPeerException.InvalidInput> { alice.openChannel("not an address", null) }
            assertEquals(1, bad.code())
            assertEquals(3, assertFailsWith<FioPeerException.NotAllowed> { alice.sendPrivateText("bob@bind", "x") }.code())
            val refused = assertFailsWith<FioPeerException.ChainRejected> { alice.friends().addFriend("nobody@bind") }
            assertEquals(5, refused.code())
            // One FioWallet per file in a process.
            val twice = assertFailsWith<FioPeerException.AlreadyOpen> { FioWallet.open(key("alice"), config(dir, "alice")) }
            assertEquals(11, twice.code())
            assertEquals(File(dir, "alice.sqlite").canonicalPath, twice.path)
        }
        // Closed, the file opens again, but not with another wallet's key.
        val wrongKey = assertFailsWith<FioPeerException.WrongDatabaseKey> { FioWallet.open(key("bob"), config(dir, "alice").copy(fioAddress = "bob@bind")) }
        assertEquals(13, wrongKey.code())
        val wrong = assertFailsWith<FioPeerException.Storage> { FioWallet.open(key("alice"), config(dir, "alice").copy(fioAddress = "carol@bind")) }
        assertEquals(7, wrong.code())
        FioWallet.open(key("alice"), config(dir, "alice").copy(databasePath = File(dir, "lost.sqlite").path,
            fioAddress = "lost@bind", chainNodes = listOf("http://127.0.0.1:9"))).use { lost ->
            assertEquals(4, assertFailsWith<FioPeerException.Network> { lost.lookupPublicKey("alice@bind") }.code())
        }
    }

    /** Alice with her inbox registered, reopened so that a sync's fetch waits 20 s on the relay. */
    suspend fun waitingWallet(dir: File): FioWallet {
        FioWallet.open(key("alice"), config(dir, "alice")).use { it.sync() }
        return FioWallet.open(key("alice"), config(dir, "alice", longPoll = 20))
    }

    test("a cancelled handle stops a long poll at once, and stays cancelled") {
        waitingWallet(tempDir()).use { alice ->
            val handle = SyncCancel()
            val started = System.currentTimeMillis()
            val e = coroutineScope {
                launch { delay(300); handle.cancel() }
                assertFailsWith<FioPeerException.Cancelled> { alice.sync(handle) }
            }
            assertEquals(8, e.code())
            val elapsed = System.currentTimeMillis() - started
            assertTrue(elapsed in 300..9_999, "$elapsed ms")
            assertFailsWith<FioPeerException.Cancelled> { alice.sync(handle) }
        }
    }

    test("a handle survives the syncs that end without it") {
        FioWallet.open(key("alice"), config(tempDir(), "alice")).use { alice ->
            val handle = SyncCancel()
            assertTrue(alice.sync(handle).registered)
            assertFalse(handle.isCancelled())
            alice.sync(handle)
        }
    }

    test("a cancelled coroutine stops its sync") {
        waitingWallet(tempDir()).use { alice ->
            val job = GlobalScope.launch(Dispatchers.Default) { alice.sync() }
            delay(500)
            job.cancelAndJoin()
            assertTrue(job.isCancelled)
            // The abandoned sync let go of the wallet: an inbox move, which
            // waits for any sync to end, is done long before the 20 s poll.
            withTimeout(8_000) { alice.moveInbox(null) }
        }
    }

    test("the logger bridge hears the sync on its own thread") {
        val records = Collections.synchronizedList(mutableListOf<Triple<LogLevel, String, Thread>>())
        setLogger(object : Logger {
            override fun log(level: LogLevel, target: String, message: String) {
                records.add(Triple(level, message, Thread.currentThread()))
            }
        }, LogLevel.INFO)
        try {
            FioWallet.open(key("alice"), config(tempDir(), "alice")).use { it.sync() }
            val deadline = System.currentTimeMillis() + 10_000
            while (System.currentTimeMillis() < deadline && synchronized(records) { records.none { it.second.startsWith("sync: ") } }) Thread.sleep(20)
            synchronized(records) {
                assertTrue(records.any { it.first == LogLevel.INFO && it.second.startsWith("sync: ") }, "$records")
                assertTrue(records.none { it.first == LogLevel.DEBUG || it.first == LogLevel.TRACE })
                assertTrue(records.none { it.third == Thread.currentThread() })
            }
        } finally {
            setLogger(null, LogLevel.INFO)
        }
    }

    test("a listener that throws does not stop the events") {
        val dir = tempDir()
        FioWallet.open(key("bob"), config(dir, "bob")).use { bob ->
        FioWallet.open(key("alice"), config(dir, "alice")).use { alice ->
            bob.sync()
            var calls = 0
            alice.setListener(object : WalletListener {
                override fun onEvent(event: WalletEvent) { calls++; throw IllegalStateException("a bug in the app") }
            })
            val hello = alice.openChannel("bob@bind", null)
            alice.sync()
            val deadline = System.currentTimeMillis() + 10_000
            while (calls < 3 && System.currentTimeMillis() < deadline) Thread.sleep(20)
            assertTrue(calls >= 3, "$calls calls")
            val heard = Recorder().also { alice.setListener(it) }
            bob.sync()
            bob.acceptRequest("alice@bind", hello.messageId, AcceptanceData())
            bob.sync(); alice.sync()
            heard.waitFor("bob's accept") { statusOf(it, hello.messageId) is MessageStatus.Accepted }
        } }
    }

    test("close ends the wallet, its event thread and its calls") {
        // A thread may end between the listing and the read of its name.
        fun eventThreads() = File("/proc/self/task").listFiles()!!.count {
            runCatching { File(it, "comm").readText().trim() }.getOrNull() == "fio-peer-events"
        }
        fun waitForThreads(n: Int): Int {
            val deadline = System.currentTimeMillis() + 5_000
            while (eventThreads() != n && System.currentTimeMillis() < deadline) Thread.sleep(20)
            return eventThreads()
        }
        System.gc()
        val before = eventThreads()
        val dir = tempDir()
        val alice = FioWallet.open(key("alice"), config(dir, "alice"))
        alice.setListener(Recorder())
        val friends = alice.friends()
        assertEquals(before + 1, waitForThreads(before + 1))
        alice.close()
        // Its FioFriends is closed with it: a typed exception, not a crash.
        assertEquals(12, assertFailsWith<FioPeerException.Closed> { friends.friendCount() }.code())
        assertFailsWith<FioPeerException.Closed> { friends.isOnFriendListOf("bob@bind") }
        friends.close()
        assertEquals(before, waitForThreads(before))
        assertFailsWith<IllegalStateException> { alice.fioAddress() }
        alice.close() // twice is harmless
        FioWallet.open(key("alice"), config(dir, "alice")).use { assertTrue(it.channels().isEmpty()) }
    }

    /** Takes connections (the kernel completes them) and never answers. */
    val hole = java.net.ServerSocket(0, 64, java.net.InetAddress.getLoopbackAddress())
    val holeUrl = "http://127.0.0.1:${hole.localPort}"
    fun hungConfig(dir: File) = config(dir, "alice").copy(chainNodes = listOf(holeUrl), relay = holeUrl,
        chainTimeoutSeconds = 60, relayTimeoutSeconds = 60)

    test("local reads answer within 50 ms while a sync and a lookup hang on black holes") {
        FioWallet.open(key("alice"), hungConfig(tempDir())).use { alice ->
            val friends = alice.friends()
            val handle = SyncCancel()
            val sync = GlobalScope.async(Dispatchers.Default) { alice.sync(handle) }
            val lookup = GlobalScope.async(Dispatchers.Default) { alice.openChannel("bob@bind", null) }
            delay(500)
            assertFalse(sync.isCompleted || lookup.isCompleted)
            val reads = mapOf<String, () -> Any?>(
                "queue" to { alice.queue() }, "channels" to { alice.channels() },
                "channel" to { alice.channel("bob@bind") }, "history" to { alice.history("bob@bind") },
                "requests" to { alice.requests(null) }, "inbox" to { alice.inbox() },
                "automation" to { alice.automation() }, "fioAddress" to { alice.fioAddress() },
                "publicKey" to { alice.publicKey() }, "friendCount" to { friends.friendCount() },
                "friends" to { friends.friends(10, 0) }, "ownNbpas" to { friends.ownNbpas() })
            val took = reads.mapValues { (_, read) -> val t = System.nanoTime(); read(); (System.nanoTime() - t) / 1e6 }
            println("     reads while hung (ms): $took")
            took.forEach { (name, ms) -> assertTrue(ms < 50.0, "$name took $ms ms") }
            val cancelledAt = System.nanoTime()
            handle.cancel()
            assertFailsWith<FioPeerException.Cancelled> { sync.await() }
            val ms = (System.nanoTime() - cancelledAt) / 1e6
            assertTrue(ms < 100.0, "the cancel took $ms ms")
            lookup.cancelAndJoin()
        }
    }

    test("a cancelled coroutine returns within 100 ms and the next sync runs at once") {
        FioWallet.open(key("alice"), hungConfig(tempDir())).use { alice ->
            repeat(3) {
                val job = GlobalScope.launch(Dispatchers.Default) { alice.sync() }
                delay(300)
                assertFalse(job.isCompleted)
                val t = System.nanoTime()
                job.cancelAndJoin()
                val ms = (System.nanoTime() - t) / 1e6
                println("     coroutine cancelled in $ms ms")
                assertTrue(ms < 100.0, "$ms ms")
            }
            // It got its turn at once (the budget ended it, not another sync).
            assertEquals(SyncStop.BUDGET, alice.syncWithin(SyncOptions(timeBudgetMs = 300L)).stopped)
        }
    }

    test("a sync that waits out its budget for another says BUSY") {
        waitingWallet(tempDir()).use { alice ->
            val handle = SyncCancel()
            val polling = GlobalScope.async(Dispatchers.Default) { alice.sync(handle) }
            delay(300)
            val busy = alice.syncWithin(SyncOptions(timeBudgetMs = 500L))
            assertEquals(SyncStop.BUSY, busy.stopped)
            assertEquals(0L, busy.fetched)
            handle.cancel()
            assertFailsWith<FioPeerException.Cancelled> { polling.await() }
        }
    }

    test("shutdown ends every call at once with Closed and frees the file") {
        val dir = tempDir()
        val alice = FioWallet.open(key("alice"), hungConfig(dir))
        val friends = alice.friends()
        val sync = GlobalScope.async(Dispatchers.Default) { alice.sync() }
        val adding = GlobalScope.async(Dispatchers.Default) { friends.addFriend("bob@bind") }
        delay(500)
        val t = System.nanoTime()
        alice.shutdown()
        assertFailsWith<FioPeerException.Closed> { sync.await() }
        assertFailsWith<FioPeerException.Closed> { adding.await() }
        val ms = (System.nanoTime() - t) / 1e6
        assertTrue(ms < 100.0, "$ms ms")
        assertFailsWith<FioPeerException.Closed> { alice.channels() }
        assertFailsWith<FioPeerException.Closed> { alice.sendPrivateText("bob@bind", "hi") }
        assertFailsWith<FioPeerException.Closed> { friends.friendCount() }
        assertEquals("alice@bind", alice.fioAddress())
        FioWallet.open(key("alice"), config(dir, "alice")).use { assertTrue(it.channels().isEmpty()) }
        alice.close()
    }

    // ---- what a wallet UI reads (issue 16) ----

    /** An open channel alice → bob over the relay. */
    suspend fun channel(alice: FioWallet, bob: FioWallet) {
        alice.sync(); bob.sync()
        val hello = alice.openChannel("bob@bind")
        alice.sync(); bob.sync()
        bob.acceptRequest("alice@bind", hello.messageId, AcceptanceData())
        bob.sync(); alice.sync()
    }
    fun mine(w: FioWallet, id: String) = w.history("bob@bind").single { it.content.messageId == id }

    test("a failed delivery is visible after reopening, retried from the API and delivered") {
        run {
            val dir = tempDir()
            var alice = FioWallet.open(key("alice"), config(dir, "alice"))
            val bob = FioWallet.open(key("bob"), config(dir, "bob"))
            channel(alice, bob)
            // An inbox that refuses every envelope for good.
            bob.updateComData("alice@bind", env("FIO_TEST_REFUSING"))
            bob.sync(); alice.sync()
            val sent = alice.sendPrivateText("bob@bind", "lost?")
            assertEquals(DeliveryState.Queued, mine(alice, sent.messageId).delivery)
            assertEquals(1L, alice.sync().failed)
            alice.close()

            alice = FioWallet.open(key("alice"), config(dir, "alice"))
            val failed = mine(alice, sent.messageId).delivery
            assertTrue(failed is DeliveryState.Failed && "413" in failed.reason, "$failed")
            assertTrue(failed.toString().startsWith("failed after 1 attempt"), failed.toString())
            assertEquals(failed, alice.outbox().single { it.content.messageId == sent.messageId }.delivery)
            alice.retryDelivery("bob@bind", sent.messageId)
            assertEquals(DeliveryState.Queued, mine(alice, sent.messageId).delivery)
            assertTrue(alice.sync().delivered >= 1)
            val delivered = mine(alice, sent.messageId).delivery
            assertTrue(delivered is DeliveryState.Delivered && (delivered.seq ?: 0) > 0, "$delivered")
            assertTrue(alice.outbox().none { it.content.messageId == sent.messageId })
            bob.sync()
            assertTrue(bob.history("alice@bind").any { it.content.memo == "lost?" })
            val e = assertFailsWith<FioPeerException.NotAllowed> { alice.retryDelivery("bob@bind", sent.messageId) }
            assertTrue(e.message!!.contains("has not failed"), e.message)
            alice.close(); bob.close()
        }
    }

    test("events are read from a cursor after a restart, nothing lost or repeated") {
        val dir = tempDir()
        val alice = FioWallet.open(key("alice"), config(dir, "alice"))
        var bob = FioWallet.open(key("bob"), config(dir, "bob"))
        channel(alice, bob)
        val before = bob.events()
        assertTrue(before.first().event is WalletEvent.QueueItemAdded)
        bob.markEventsHandled(before.last().id)
        bob.close()
        for (i in 0 until 3) alice.sendPrivateText("bob@bind", "t$i")
        alice.sync()
        FioWallet.open(key("bob"), config(dir, "bob")).use { it.sync() } // a background job
        bob = FioWallet.open(key("bob"), config(dir, "bob"))
        val after = bob.events()
        val texts = after.mapNotNull { (it.event as? WalletEvent.QueueItemAdded)?.entry?.message?.content?.memo }
        assertEquals(listOf("t0", "t1", "t2"), texts)
        assertTrue(after.first().id > before.last().id)
        assertEquals(after.map { it.id }.sorted().distinct(), after.map { it.id })
        assertTrue(bob.events(after = after.last().id).isEmpty())
        alice.close(); bob.close()
    }

    test("the Flow adapter delivers an event from before collection and every later one, in order") {
        val dir = tempDir()
        val alice = FioWallet.open(key("alice"), config(dir, "alice"))
        val bob = FioWallet.open(key("bob"), config(dir, "bob"))
        channel(alice, bob)
        alice.sendPrivateText("bob@bind", "before"); alice.sync(); bob.sync()
        val got = Collections.synchronizedList(mutableListOf<EventEntry>())
        val collecting = GlobalScope.launch(Dispatchers.Default) {
            bob.eventFlow(after = 0).collect { got.add(it) }
        }
        val texts = { got.mapNotNull { (it.event as? WalletEvent.QueueItemAdded)?.entry?.message?.content?.memo } }
        withTimeout(10_000) { while ("before" !in texts()) delay(20) }
        for (i in 0 until 3) alice.sendPrivateText("bob@bind", "after $i")
        alice.sync(); bob.sync()
        withTimeout(10_000) { while (texts().size < 4) delay(20) }
        assertEquals(listOf("before", "after 0", "after 1", "after 2"), texts())
        val ids = got.map { it.id }
        assertEquals(ids.sorted().distinct(), ids)
        // What it gave is the log, from its start (more may be coming).
        assertEquals(bob.events(after = 0, limit = 1000).map { it.id }.take(ids.size), ids)
        // Cancelling the collector ends its wait at once.
        val t = System.nanoTime()
        collecting.cancelAndJoin()
        assertTrue((System.nanoTime() - t) / 1e6 < 1000.0)
        alice.close(); bob.close()
    }

    test("paging over 1,000 messages returns each exactly once") {
        val dir = tempDir()
        val alice = FioWallet.open(key("alice"), config(dir, "alice"))
        val bob = FioWallet.open(key("bob"), config(dir, "bob"))
        channel(alice, bob)
        val sent = (0 until 1000).map { alice.sendPrivateText("bob@bind", "m$it").messageId }
        val seen = mutableListOf<Message>()
        var before: Long? = null
        while (true) {
            val page = alice.history("bob@bind", before = before, limit = 97)
            if (page.isEmpty()) break
            seen += page
            before = page.last().id
        }
        assertEquals(sent.reversed(), seen.filter { it.action == MessageAction.SEND_PRIVATE_TEXT }.map { it.content.messageId })
        assertEquals(seen.size, seen.map { it.id }.toSet().size)
        alice.close(); bob.close()
    }

    test("presets, messages of errors and printed values") {
        val nodes = networkNodes(Network.Mainnet)
        assertTrue(nodes.isNotEmpty() && nodes.all { it.startsWith("https://") })
        assertEquals("mainnet", Network.Mainnet.toString())
        assertEquals("delivered (seq 7)", MessageStatus.Delivered(7).toString())
        assertEquals("queued", DeliveryState.Queued.toString())
        assertEquals("always", AcceptChannels.Always.toString())
        val dir = tempDir()
        val w = FioWallet.open(key("alice"), WalletConfig(File(dir, "t.sqlite").path, "alice@bind", Network.Testnet))
        w.shutdown()
        val closed = assertFailsWith<FioPeerException.Closed> { w.queue() }
        assertTrue(closed.message!!.contains("the wallet was closed"), closed.message)
        assertEquals("the wallet was closed", closed.toString())
        val noNodes = assertFailsWith<FioPeerException.InvalidInput> {
            FioWallet.open(key("alice"), WalletConfig(File(dir, "c.sqlite").path, "alice@bind", Network.Custom("00".repeat(32))))
        }
        assertEquals("chain_nodes", noNodes.field)
        w.close()
    }

    test("a request pushes to the gateway and the extension call on a fresh wallet shows it") {
        // A Matrix push gateway on loopback (the relay runs --push-allow-insecure).
        val notes = java.util.concurrent.LinkedBlockingQueue<String>()
        val server = com.sun.net.httpserver.HttpServer.create(java.net.InetSocketAddress("127.0.0.1", 0), 0)
        server.createContext("/_matrix/push/v1/notify") { ex ->
            notes.put(ex.requestBody.readBytes().decodeToString())
            val answer = """{"rejected":[]}""".toByteArray()
            ex.responseHeaders.add("Content-Type", "application/json")
            ex.sendResponseHeaders(200, answer.size.toLong())
            ex.responseBody.use { it.write(answer) }
        }
        server.start()
        try {
            val dir = tempDir()
            var alice = FioWallet.open(key("alice"), config(dir, "alice"))
            val bob = FioWallet.open(key("bob"), config(dir, "bob"))
            channel(alice, bob)
            alice.markEventsHandled(alice.events(null, 1000).last().id) // the app showed them
            val url = "http://127.0.0.1:${server.address.port}/_matrix/push/v1/notify"
            val target = FioPushTarget.gateway(url, "com.example.wallet", "alice-fcm-token")
            assertEquals("FioPushTarget(gateway)", target.toString())
            val registered = alice.registerPush(target)
            assertEquals(listOf(registered.pushId), alice.pushRegistrations().map { it.pushId })
            assertEquals(87, alice.relayPushKey().length)
            alice.close()

            bob.requestFunds("alice@bind", FundsRequestData("bc1qbob", "BTC", "BTC", "0.01", memo = "dinner"))
            bob.sync()
            val note = notes.poll(5, java.util.concurrent.TimeUnit.SECONDS) ?: fail("no push")
            assertTrue("alice-fcm-token" in note && "dinner" !in note, note)

            alice = FioWallet.open(key("alice"), config(dir, "alice"))
            val got = alice.receiveForNotification(5000)
            assertEquals(listOf("bob@bind requests 0.01 BTC: dinner"), got.notices.map { it.text })
            assertEquals(MessageAction.NEW_FUNDS_REQUEST, got.notices.single().action)
            assertEquals(SyncStop.COMPLETE, got.summary.stopped)
            assertTrue(alice.removePush(registered.pushId))
            assertTrue(alice.pushRegistrations().isEmpty())
            alice.close(); bob.close()
        } finally {
            server.stop(0)
        }
    }

    test("the README's Kotlin quick start runs") {
        val summary = quickstart(File(tempDir(), "quick.sqlite").path, key("alice"), "alice@bind", "bob@bind",
            Network.Custom(env("FIO_TEST_CHAIN_ID")), listOf(env("FIO_TEST_DEVNET")), env("FIO_TEST_RELAY"),
            localDevnet = true)
        assertEquals(1L, summary.delivered)
    }

    println("kotlin: $passed passed, $failed failed")
    kotlin.system.exitProcess(if (failed == 0) 0 else 1)
}
