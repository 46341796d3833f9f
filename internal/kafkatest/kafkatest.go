// Package kafkatest starts franz-go's kfake — an in-process broker that speaks the real
// Kafka protocol — for tests and benchmarks, and does to it what a test needs.
package kafkatest

import (
	"context"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Broker starts a broker on a free loopback port with the topics, each with the given
// partitions, stopped when the test ends, and returns its address.
func Broker(tb testing.TB, partitions int, topics ...string) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(int32(partitions), topics...))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// DeleteRecords moves the start of a partition's log to offset before, as retention would.
func DeleteRecords(tb testing.TB, addr, topic string, partition int32, before int64) {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteRecordsRequest()
	t := kmsg.NewDeleteRecordsRequestTopic()
	t.Topic = topic
	p := kmsg.NewDeleteRecordsRequestTopicPartition()
	p.Partition, p.Offset = partition, before
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 5000
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		tb.Fatal(err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				tb.Fatalf("delete records %s/%d: error code %d", topic, rp.Partition, rp.ErrorCode)
			}
		}
	}
}
