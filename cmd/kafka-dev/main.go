// Command kafka-dev runs an in-process Kafka broker (franz-go's kfake, the real protocol) on
// 127.0.0.1:9092 with CloudLedger's topics, for trying the Kafka bridge by hand:
//
//	go run ./cmd/kafka-dev            # or: make kafka-dev
//	bin/ledgerd --kafka-brokers 127.0.0.1:9092
//
// It keeps everything in memory and is not for production.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cloudledger/cloudledger/kafkabridge"
)

func main() {
	port := flag.Int("port", 9092, "listen port on 127.0.0.1")
	partitions := flag.Int("partitions", 4, "partitions of each CloudLedger topic")
	flag.Parse()
	c, err := kfake.NewCluster(kfake.Ports(*port), kfake.SeedTopics(int32(*partitions),
		kafkabridge.DefaultUsageTopic, kafkabridge.DefaultDLQTopic, kafkabridge.DefaultLedgerTopic), kfake.AllowAutoTopicCreation())
	if err != nil {
		fmt.Fprintf(os.Stderr, "kafka-dev: %v\n", err)
		os.Exit(1)
	}
	defer c.Close()
	fmt.Printf("kafka-dev: broker on %v with topics %s, %s, %s (%d partitions each); Ctrl-C stops it\n",
		c.ListenAddrs(), kafkabridge.DefaultUsageTopic, kafkabridge.DefaultDLQTopic, kafkabridge.DefaultLedgerTopic, *partitions)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
