// The test harness of the Kotlin suite: no JUnit (Maven Central is out of reach), a few
// helpers instead: a server process speaking tests/interop/CONTRACT.md, a listener that
// records what it hears, and JSON conversions.
package io.polysocket.tests

import io.polysocket.Ack
import io.polysocket.DisconnectReason
import io.polysocket.JsonValue
import io.polysocket.SocketListener
import java.io.IOException
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/** A contract server (`LISTENING <port>` on stdout), restartable on the same port. */
class TestServer(private val command: List<String>, private val env: Map<String, String>) {
    var port = 0
        private set
    private var process: Process? = null

    val url: String get() = "http://127.0.0.1:$port"

    fun start(fixedPort: Int = 0) {
        val builder = ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT)
        builder.environment().putAll(env)
        builder.environment()["PORT"] = fixedPort.toString()
        val started = builder.start()
        process = started
        val reader = started.inputStream.bufferedReader()
        while (true) {
            val line = reader.readLine() ?: error("the server exited before LISTENING")
            val match = Regex("^LISTENING (\\d+)").find(line) ?: continue
            port = match.groupValues[1].toInt()
            break
        }
        Thread {
            try { reader.forEachLine {} } catch (_: IOException) {}
        }.apply { isDaemon = true }.start()
    }

    fun stop() {
        val running = process ?: return
        running.destroy()
        if (!running.waitFor(5, TimeUnit.SECONDS)) running.destroyForcibly().waitFor()
        process = null
    }
}

/** What a listener heard. */
sealed interface Heard
data class Connected(val id: String, val recovered: Boolean, val thread: String) : Heard
data class Refused(val message: String, val data: Any?) : Heard
data class Disconnected(val reason: DisconnectReason) : Heard
data class Received(val event: String, val args: List<Any?>) : Heard
data class Attempt(val attempt: UInt) : Heard

/** A listener that records everything; `answer` answers the server's events that want an ack. */
class Recorder(
    private val answer: (String, List<Any?>) -> List<JsonValue>? = { _, _ -> null },
    private val throwOn: String? = null,
) : SocketListener {
    val heard = CopyOnWriteArrayList<Heard>()

    override fun onConnect(id: String, recovered: Boolean) {
        heard.add(Connected(id, recovered, Thread.currentThread().name))
    }

    override fun onConnectError(message: String, data: JsonValue?) {
        heard.add(Refused(message, data?.let(::plain)))
    }

    override fun onDisconnect(reason: DisconnectReason) {
        heard.add(Disconnected(reason))
    }

    /** The most listener calls seen running at once (the library promises one). */
    val mostAtOnce = AtomicInteger(0)
    private val running = AtomicInteger(0)

    override fun onEvent(event: String, args: List<JsonValue>, ack: Ack?) {
        mostAtOnce.accumulateAndGet(running.incrementAndGet(), ::maxOf)
        try {
            Thread.sleep(0, 200_000)
            val values = args.map(::plain)
            heard.add(Received(event, values))
            if (event == throwOn) throw IllegalStateException("a listener that throws")
            if (ack != null) answer(event, values)?.let { ack.send(it) }
        } finally {
            running.decrementAndGet()
        }
    }

    override fun onReconnectAttempt(attempt: UInt) {
        heard.add(Attempt(attempt))
    }

    /** How much has been heard so far (to wait for what comes after it). */
    fun mark(): Int = heard.size

    /** The first thing heard after `from` that matches, waiting up to `ms`. */
    inline fun <reified T : Heard> await(from: Int = 0, ms: Long = 5000, crossinline match: (T) -> Boolean = { true }): T {
        val deadline = System.nanoTime() + ms * 1_000_000
        while (true) {
            heard.drop(from).filterIsInstance<T>().firstOrNull { match(it) }?.let { return it }
            if (System.nanoTime() > deadline) {
                throw AssertionError("no ${T::class.simpleName} within $ms ms; heard: ${heard.drop(from)}")
            }
            Thread.sleep(10)
        }
    }

    /** Fails if something of type T matching is heard after `from` within `ms`. */
    inline fun <reified T : Heard> never(from: Int, ms: Long, crossinline match: (T) -> Boolean = { true }) {
        Thread.sleep(ms)
        val seen = heard.drop(from).filterIsInstance<T>().filter { match(it) }
        check(seen.isEmpty()) { "unexpected: $seen" }
    }
}

/** A Kotlin value as a JsonValue (ByteArray is binary). */
fun j(value: Any?): JsonValue = when (value) {
    null -> JsonValue.Null
    is Boolean -> JsonValue.Bool(value)
    is Int -> JsonValue.Integer(value.toLong())
    is Long -> JsonValue.Integer(value)
    is Double -> JsonValue.Number(value)
    is String -> JsonValue.Text(value)
    is ByteArray -> JsonValue.Binary(value)
    is List<*> -> JsonValue.Array(value.map(::j))
    is Map<*, *> -> JsonValue.Object(value.entries.associate { (k, v) -> k as String to j(v) })
    else -> error("no JSON for $value")
}

/** A JsonValue as plain Kotlin values (binary as a List<Byte>, so that == compares contents). */
fun plain(value: JsonValue): Any? = when (value) {
    is JsonValue.Null -> null
    is JsonValue.Bool -> value.value
    is JsonValue.Integer -> value.value
    is JsonValue.Number -> value.value
    is JsonValue.Text -> value.value
    is JsonValue.Binary -> value.value.toList()
    is JsonValue.Array -> value.items.map(::plain)
    is JsonValue.Object -> value.entries.mapValues { plain(it.value) }
}

fun assertEquals(expected: Any?, actual: Any?, what: String = "value") {
    if (expected != actual) throw AssertionError("$what: expected <$expected>, got <$actual>")
}
