// The Kotlin suite of the mobile library, run on the JVM against one contract server
// (tests/interop/CONTRACT.md): polysocket's Rust interop server or npm socket.io's reference
// server. Usage: ClientTestsKt <name> <server command...>; the server runs with RECOVERY=1,
// so every event from it carries its recovery offset as a last argument (socket.io-client's
// listeners see it too): the tests look at the first arguments.
package io.polysocket.tests

import io.polysocket.DisconnectReason
import io.polysocket.SocketClient
import io.polysocket.SocketException
import io.polysocket.SocketOptions
import io.polysocket.Transport
import io.polysocket.disconnectReasonText
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlin.system.exitProcess

lateinit var server: TestServer
/** TRANSPORTS=websocket|polling runs the suite on that transport only (default: polling, then the upgrade). */
val defaultTransports: List<Transport> = when (System.getenv("TRANSPORTS")) {
    "websocket" -> listOf(Transport.WEBSOCKET)
    "polling" -> listOf(Transport.POLLING)
    else -> listOf()
}

/** Options that reconnect quickly. */
fun quick(transports: List<Transport> = defaultTransports) = SocketOptions(
    transports = transports,
    reconnectionDelayMs = 100uL,
    reconnectionDelayMaxMs = 300uL,
)

/** A connected client of `nsp` with a recorder, closed after `block`. */
fun <T> withClient(
    options: SocketOptions = quick(),
    nsp: String = "",
    recorder: Recorder = Recorder(),
    block: suspend CoroutineScope.(SocketClient, Recorder) -> T,
): T = SocketClient(server.url + nsp, options, recorder).use { client ->
    client.connect()
    recorder.await<Connected>()
    runBlocking { block(client, recorder) }
}

val tests: List<Pair<String, () -> Unit>> = listOf(
    "connects over each transport, with auth, and echoes with acks" to {
        for (transports in listOf(listOf(Transport.WEBSOCKET), listOf(Transport.POLLING), listOf())) {
            val options = quick(transports).copy(auth = j(mapOf("token" to "t-1")))
            withClient(options) { client, heard ->
                val welcome = heard.await<Received> { it.event == "welcome" }
                val id = heard.await<Connected>().id
                assertEquals(mapOf("id" to id, "auth" to mapOf("token" to "t-1")), welcome.args[0], "welcome")
                assertEquals(id, client.id(), "id()")
                check(client.connected())
                val args = listOf(1, -2L, 2.5, "text", null, true, listOf(1, "a"), mapOf("k" to mapOf("n" to 1)))
                val answer = client.emitWithAck("echo", args.map(::j)).map(::plain)
                assertEquals(listOf(1L, -2L, 2.5, "text", null, true, listOf(1L, "a"), mapOf("k" to mapOf("n" to 1L))), answer, "echo over $transports")
            }
        }
    },
    "query and extra headers reach the server over each transport" to {
        for (transports in listOf(listOf(Transport.WEBSOCKET), listOf(Transport.POLLING))) {
            val options = quick(transports).copy(query = mapOf("foo" to "bar"), extraHeaders = mapOf("X-Polysocket-Test" to "hello"))
            withClient(options) { client, _ ->
                val handshake = plain(client.emitWithAck("get-handshake")[0]) as Map<*, *>
                assertEquals("bar", (handshake["query"] as Map<*, *>)["foo"], "query over $transports")
                assertEquals(listOf("hello"), client.emitWithAck("get-header", listOf(j("x-polysocket-test"))).map(::plain), "header over $transports")
            }
        }
    },
    "retries: at-least-once emits, one at a time, and the error after the last try" to {
        withClient(quick().copy(retries = 2u, ackTimeoutMs = 100uL)) { client, _ ->
            val started = System.nanoTime()
            val failed = runCatching { client.emitWithAck("nobody-answers") }.exceptionOrNull()
            val ms = (System.nanoTime() - started) / 1_000_000
            check(failed is SocketException.Timeout) { "expected Timeout, got $failed" }
            check(ms >= 280) { "three tries of 100 ms took $ms ms" }
            assertEquals(listOf("delivered"), client.emitWithAck("echo", listOf(j("delivered"))).map(::plain), "answered")
        }
    },
    "callbacks come one at a time, off the caller's thread" to {
        withClient { client, heard ->
            repeat(50) { client.emit("echo", listOf(j(it))) }
            heard.await<Received> { it.event == "echo" && it.args.first() == 49L }
            check(heard.heard.all { it !is Connected || it.thread != Thread.currentThread().name })
            assertEquals(1, heard.mostAtOnce.get(), "listener calls at once")
            val order = heard.heard.filterIsInstance<Received>().filter { it.event == "echo" }.map { it.args.first() }
            assertEquals((0L until 50L).toList(), order, "order")
        }
    },
    "raw JSON text in and out" to {
        withClient { client, heard ->
            val answer = client.emitJsonWithAck("echo", """[{"a":[1,2.5,"x",null]},"two"]""")
            assertEquals("""[{"a":[1,2.5,"x",null]},"two"]""", answer, "emitJsonWithAck")
            val from = heard.mark()
            client.emitJson("echo", """["plain", 3]""")
            heard.await<Received>(from) { it.event == "echo" && it.args.take(2) == listOf("plain", 3L) }
            val invalid = runCatching { client.emitJson("echo", "{}") }.exceptionOrNull()
            check(invalid is SocketException.InvalidJson) { "a JSON object is refused: $invalid" }
        }
    },
    "binary both ways, nested too" to {
        withClient { client, _ ->
            val answer = client.emitWithAck("echo", listOf(j(byteArrayOf(1, 2, 3)), j(mapOf("nested" to listOf(byteArrayOf(4, 5))))))
            assertEquals(listOf(listOf<Byte>(1, 2, 3), mapOf("nested" to listOf(listOf<Byte>(4, 5)))), answer.map(::plain), "binary echo")
        }
    },
    "the server's events with acks are answered by the listener" to {
        val recorder = Recorder(answer = { event, args -> if (event == "question") listOf(j(mapOf("answer" to args[0]))) else null })
        withClient(recorder = recorder) { client, _ ->
            val answer = client.emitWithAck("ask-client", listOf(j("q-1")))
            assertEquals(listOf(mapOf("answer" to "q-1")), answer.map(::plain), "ask-client")
        }
    },
    "rooms, and events the server sends to them" to {
        withClient { client, heard ->
            val rooms = client.emitWithAck("join", listOf(j("room-1")))
            check((plain(rooms[0]) as List<*>).contains("room-1")) { "rooms: $rooms" }
            val from = heard.mark()
            client.emitWithAck("to-room", listOf(j("room-1"), j("news"), j(mapOf("x" to 1))))
            heard.await<Received>(from) { it.event == "news" && it.args.first() == mapOf("x" to 1L) }
        }
    },
    "a namespace of its own on the same connection" to {
        withClient { client, _ ->
            val custom = Recorder()
            client.socket("/custom", custom).use { socket ->
                socket.connect()
                val welcome = custom.await<Received> { it.event == "welcome" }
                assertEquals("/custom", (welcome.args[0] as Map<*, *>)["nsp"], "nsp")
                assertEquals(listOf("in /custom"), socket.emitWithAck("echo", listOf(j("in /custom"))).map(::plain), "echo")
            }
            assertEquals(listOf("still /"), client.emitWithAck("echo", listOf(j("still /"))).map(::plain), "/ after /custom left")
            val twice = runCatching { client.socket("/", Recorder()) }.exceptionOrNull()
            check(twice is SocketException.InvalidOptions) { "a second socket for / on the connection: $twice" }
            client.socket("custom", Recorder()).use { again -> again.connect() }
        }
    },
    "a refused connection is reported with its message and data" to {
        val heard = Recorder()
        SocketClient(server.url, quick().copy(auth = j(mapOf("token" to "bad"))), heard).use { client ->
            client.connect()
            val refused = heard.await<Refused>()
            assertEquals("unauthorized", refused.message, "message")
            assertEquals(mapOf("code" to 401L), refused.data, "data")
            check(!client.connected())
        }
    },
    "an invalid URL or JSON is an error, not a crash" to {
        val invalid = runCatching { SocketClient("ftp://127.0.0.1:1", listener = Recorder()) }.exceptionOrNull()
        check(invalid is SocketException.InvalidOptions) { "expected InvalidOptions, got $invalid" }
        withClient { client, _ ->
            val notJson = runCatching { client.emitJsonWithAck("echo", "[1,") }.exceptionOrNull()
            check(notJson is SocketException.InvalidJson) { "expected InvalidJson, got $notJson" }
            assertEquals(listOf("fine"), client.emitWithAck("echo", listOf(j("fine"))).map(::plain), "still working")
        }
    },
    "acks time out, or fail when the socket disconnects" to {
        withClient { client, _ ->
            val timedOut = runCatching { client.emitWithAck("nobody-answers", timeoutMs = 200uL) }.exceptionOrNull()
            check(timedOut is SocketException.Timeout) { "expected Timeout, got $timedOut" }
            assertEquals("operation has timed out", timedOut.message, "message")
            // Started at once, so that the emit goes out before kill-transport.
            val pending = async(start = CoroutineStart.UNDISPATCHED) { runCatching { client.emitWithAck("nobody-answers", timeoutMs = 5000uL) }.exceptionOrNull() }
            client.emit("kill-transport")
            val lost = pending.await()
            check(lost is SocketException.Disconnected) { "expected Disconnected, got $lost" }
        }
    },
    "a server-side disconnect is final" to {
        withClient { client, heard ->
            val from = heard.mark()
            client.emit("server-disconnect")
            assertEquals(DisconnectReason.IO_SERVER_DISCONNECT, heard.await<Disconnected>(from).reason, "reason")
            assertEquals("io server disconnect", disconnectReasonText(DisconnectReason.IO_SERVER_DISCONNECT), "text")
            heard.never<Connected>(from, 800)
        }
    },
    "connection state recovery after the transport drops" to {
        withClient { client, heard ->
            val from = heard.mark()
            client.emit("kill-transport")
            assertEquals(DisconnectReason.TRANSPORT_CLOSE, heard.await<Disconnected>(from).reason, "reason")
            check(heard.await<Connected>(from).recovered) { "recovered" }
            check(client.recovered())
            assertEquals(listOf(true), client.emitWithAck("get-recovered").map(::plain), "get-recovered")
        }
    },
    "pause closes and waits, emits are buffered, resume reconnects and recovers" to {
        withClient { client, heard ->
            val from = heard.mark()
            client.pause()
            assertEquals(DisconnectReason.TRANSPORT_CLOSE, heard.await<Disconnected>(from).reason, "reason")
            check(!client.connected())
            client.emit("echo", listOf(j("sent while paused")))
            heard.never<Attempt>(from, 700)
            heard.never<Connected>(from, 0)
            client.resume()
            check(heard.await<Connected>(from).recovered) { "recovered after resume" }
            heard.await<Received>(from) { it.event == "echo" && it.args.first() == "sent while paused" }
        }
    },
    "a network change reconnects at once" to {
        // With a 5 s reconnection delay, only an immediate reconnection is quick.
        val options = quick().copy(reconnectionDelayMs = 5000uL, reconnectionDelayMaxMs = 5000uL, randomizationFactor = 0.0)
        withClient(options) { client, heard ->
            val from = heard.mark()
            client.networkChanged()
            assertEquals(DisconnectReason.TRANSPORT_CLOSE, heard.await<Disconnected>(from).reason, "reason")
            heard.await<Connected>(from, ms = 2000)
        }
    },
    "reconnects after the server restarts and sends what was buffered" to {
        withClient { client, heard ->
            val from = heard.mark()
            val port = server.port
            server.stop()
            try {
                // A killed server may reset the connection: socket.io-client says "transport error" then.
                val reason = heard.await<Disconnected>(from).reason
                check(reason == DisconnectReason.TRANSPORT_CLOSE || reason == DisconnectReason.TRANSPORT_ERROR) { "reason $reason" }
                client.emit("echo", listOf(j("buffered")))
                heard.await<Attempt>(from)
            } finally {
                server.start(port)
            }
            heard.await<Connected>(from, ms = 10_000)
            heard.await<Received>(from) { it.event == "echo" && it.args.first() == "buffered" }
        }
    },
    "a listener that throws does not stop the others" to {
        withClient(recorder = Recorder(throwOn = "echo")) { client, heard ->
            val from = heard.mark()
            client.emit("echo", listOf(j("first")))
            client.emit("echo", listOf(j("second")))
            heard.await<Received>(from) { it.args.first() == "second" }
            assertEquals(listOf("ack"), client.emitWithAck("echo", listOf(j("ack"))).map(::plain), "still working")
        }
    },
    "closing a client disconnects it and releases its thread" to {
        fun callbackThreads() = Thread.getAllStackTraces().keys.count { it.name == "polysocket-callbacks" && it.isAlive }
        val before = callbackThreads()
        val ids = (1..20).map {
            val heard = Recorder()
            SocketClient(server.url, quick(listOf(Transport.WEBSOCKET)), heard).use { client ->
                client.connect()
                heard.await<Connected>().id
            }
        }
        withClient { client, _ ->
            val deadline = System.nanoTime() + 5_000_000_000
            while (true) {
                @Suppress("UNCHECKED_CAST")
                val reasons = plain(client.emitWithAck("get-disconnect-reasons")[0]) as List<Map<String, Any?>>
                val closed = reasons.filter { it["id"] in ids }.map { it["reason"] }
                if (closed.size == ids.size) {
                    check(closed.all { it == "client namespace disconnect" }) { "reasons: $closed" }
                    break
                }
                check(System.nanoTime() < deadline) { "the server saw ${closed.size} of ${ids.size} disconnects" }
                Thread.sleep(50)
            }
        }
        val deadline = System.nanoTime() + 5_000_000_000
        while (callbackThreads() > before && System.nanoTime() < deadline) Thread.sleep(20)
        assertEquals(before, callbackThreads(), "callback threads left")
    },
)

fun main(args: Array<String>) {
    require(args.size >= 2) { "usage: MainKt <name> <server command...>" }
    val name = args[0]
    server = TestServer(args.drop(1), mapOf("RECOVERY" to "1"))
    server.start()
    var failed = 0
    // ONLY=<text>: the tests whose title contains it.
    val only = System.getenv("ONLY")
    for ((title, test) in tests.filter { only == null || it.first.contains(only) }) {
        val started = System.nanoTime()
        val error = runCatching { test() }.exceptionOrNull()
        val ms = (System.nanoTime() - started) / 1_000_000
        if (error == null) {
            println("ok - [$name] $title ($ms ms)")
        } else {
            failed++
            println("not ok - [$name] $title: $error")
            error.printStackTrace()
        }
    }
    server.stop()
    println("# [$name] ${tests.count { only == null || it.first.contains(only) } - failed} passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
