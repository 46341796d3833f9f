package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/cloudledger/cloudledger/kafkabridge"
)

// kafkaFlags are the optional Kafka settings: without --kafka-brokers there is no Kafka.
type kafkaFlags struct {
	brokers, usage, dlq, out, notices string
	tls                               bool
	ca, mechanism, user               string
}

func (k *kafkaFlags) register() {
	flag.StringVar(&k.brokers, "kafka-brokers", "", "comma-separated Kafka brokers HOST:PORT; empty: no Kafka")
	flag.StringVar(&k.usage, "kafka-usage-topic", kafkabridge.DefaultUsageTopic, "topic of usage records to ingest (JSON lines of events.csv's fields)")
	flag.StringVar(&k.dlq, "kafka-dlq-topic", kafkabridge.DefaultDLQTopic, "dead-letter topic for records that cannot be applied")
	flag.StringVar(&k.out, "kafka-ledger-topic", kafkabridge.DefaultLedgerTopic, "topic every committed line item is published to")
	flag.StringVar(&k.notices, "kafka-notices-topic", kafkabridge.DefaultNoticesTopic, "topic the notices (request decisions, expiry notices) are published to")
	flag.BoolVar(&k.tls, "kafka-tls", false, "connect to the brokers with TLS")
	flag.StringVar(&k.ca, "kafka-tls-ca", "", "PEM file of the CA that signed the brokers' certificates (default: the system roots)")
	flag.StringVar(&k.mechanism, "kafka-sasl-mechanism", "", "SASL: plain, scram-sha-256 or scram-sha-512 (password in CLOUDLEDGER_KAFKA_PASSWORD)")
	flag.StringVar(&k.user, "kafka-sasl-user", "", "SASL user name")
}

func (k *kafkaFlags) config(log *slog.Logger) (*kafkabridge.Config, error) {
	if k.brokers == "" {
		return nil, nil
	}
	d := &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true}
	if k.tls || k.ca != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if k.ca != "" {
			pem, err := os.ReadFile(k.ca)
			if err != nil {
				return nil, fmt.Errorf("--kafka-tls-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--kafka-tls-ca: no certificate in %s", k.ca)
			}
			tc.RootCAs = pool
		}
		d.TLS = tc
	}
	if k.mechanism != "" {
		pass := os.Getenv("CLOUDLEDGER_KAFKA_PASSWORD")
		var m sasl.Mechanism
		var err error
		switch k.mechanism {
		case "plain":
			m = plain.Mechanism{Username: k.user, Password: pass}
		case "scram-sha-256":
			m, err = scram.Mechanism(scram.SHA256, k.user, pass)
		case "scram-sha-512":
			m, err = scram.Mechanism(scram.SHA512, k.user, pass)
		default:
			return nil, fmt.Errorf("--kafka-sasl-mechanism: plain, scram-sha-256 or scram-sha-512, not %q", k.mechanism)
		}
		if err != nil {
			return nil, fmt.Errorf("--kafka-sasl-mechanism: %w", err)
		}
		d.SASLMechanism = m
	}
	return &kafkabridge.Config{Brokers: strings.Split(k.brokers, ","), UsageTopic: k.usage, DLQTopic: k.dlq, LedgerTopic: k.out, NoticeTopic: k.notices, Dialer: d, Logger: log}, nil
}
