// Package kafkabridge connects the ledger to Kafka (segmentio/kafka-go): providers' usage
// records in, every committed line item out. It joins the server's Raft node to the
// domain; the ledger never imports it.
//
// Ingestion runs on the leader only. Each partition of the usage topic is read from the
// next offset held in the replicated state (never a consumer group's). What is read at once
// becomes one ledger.AdvanceOffsets command in one Raft entry: the decoded records (or, for
// a record that cannot be decoded, its code and reason) and the partition's new next
// offset. The state machine handles every offset once, applies each record on its own and
// records a refused one in a replicated dead-letter outbox, so a record is applied exactly
// once across restarts and leader changes, and the dead letters are exactly the records not
// applied. A gap — the next offset no longer in the log — stops that partition loudly until
// an operator skips it (Skip); it is never skipped otherwise.
//
// Two publishers run on the leader too: the line items to the ledger topic, in sequence
// order and keyed by department, and the dead-letter outbox to the dead-letter topic, each
// source record's value read back from the usage topic. Each records its last published
// sequence through Raft (ledger.MarkPublished), so a new leader resumes without a gap; a
// consumer may see repeats, always identical (same sequence number, hash or source offset).
package kafkabridge
