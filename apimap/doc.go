// Package apimap is the one mapping between the API and the domain: it turns an API
// Command (strings, as in the interchange files and the RPCs) into a validated ledger
// command, and a ledger line item back into its API form. The server, the Kafka bridge and
// the invoice reconciliation all go through it, so a value means the same thing in a CSV
// row, a JSON line, a Kafka record and a JSON request.
//
// ledgerctl does not import it: the client sends the fields as read, the ledger parses them.
package apimap

import "github.com/cloudledger/cloudledger/errcode"

// errf builds a domain error.
func errf(code errcode.Code, field, format string, args ...any) *errcode.Error {
	return errcode.Errf(code, field, format, args...)
}
