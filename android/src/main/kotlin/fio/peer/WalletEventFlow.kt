// Written by hand, beside the generated bindings (package fio.peer): the
// wallet's event log as a Kotlin Flow. Compiled by android/check.sh and in
// the JVM suite (bindings/test.sh), which tests it.
package fio.peer

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * The wallet's logged events after [after] (`null`: after the last one
 * marked handled with [FioWallet.markEventsHandled] when collection
 * starts), oldest first, then each new one as it is committed, for as long
 * as it is collected.
 *
 * Read from the event log in the wallet's database a page at a time, as the
 * collector takes them, so nothing is dropped or repeated: an event that
 * happened before collection started comes first, and a slow collector
 * only falls behind (the log keeps up to 10,000 events). Each element
 * carries its `id`: keep the last one handled (or call
 * `markEventsHandled(id)`) and start the next flow there.
 *
 * Cancelling the collecting coroutine ends the wait at once. The flow
 * completes when the wallet is shut down; other errors are thrown.
 * Events another process commits (a background job, an extension) are
 * seen within [waitMs].
 */
fun FioWallet.eventFlow(after: Long? = null, pageSize: Int = 100, waitMs: Long = 30_000): Flow<EventEntry> {
    require(pageSize > 0) { "pageSize must be at least 1" }
    require(waitMs > 0) { "waitMs must be more than 0" }
    return flow {
        var cursor = try {
            after ?: handledEventId()
        } catch (closed: FioPeerException.Closed) {
            return@flow
        }
        while (true) {
            val page = try {
                nextEvents(cursor, pageSize, waitMs, null)
            } catch (closed: FioPeerException.Closed) {
                return@flow
            }
            for (entry in page) {
                emit(entry)
                cursor = entry.id
            }
        }
    }
}
