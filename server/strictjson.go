package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// Unknown JSON fields are refused, never dropped: a typo ("proation": "monthly") would
// otherwise be stored as the default and could never be corrected. Two layers do it: the
// API's JSON codec (strictJSONCodec) refuses them for every JSON message, and for a unary
// JSON request withStrictJSON checks first, so that the refusal carries an ErrorDetail
// (malformed, naming the field) like every other error.

// strictJSONCodec is connect's JSON codec without DiscardUnknown.
type strictJSONCodec struct{ name string }

func (c strictJSONCodec) Name() string { return c.name }

func (c strictJSONCodec) Marshal(m any) ([]byte, error) {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%T is not a proto message", m)
	}
	return protojson.MarshalOptions{}.Marshal(pm)
}

func (c strictJSONCodec) Unmarshal(b []byte, m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("%T is not a proto message", m)
	}
	if len(b) == 0 {
		return fmt.Errorf("zero-length payload is not a valid JSON object")
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(b, pm); err != nil {
		return protoJSONError(err)
	}
	return nil
}

var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// protoJSONError is a protojson error as a domain error, naming an unknown field.
func protoJSONError(err error) *errcode.Error {
	if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
		return errcode.Errf(errcode.Malformed, m[1], "unknown field %q (check its spelling: unknown fields are refused, never dropped)", m[1])
	}
	return errcode.Errf(errcode.Malformed, "", "%v", err)
}

// inputTypes maps each procedure of the API to its request message.
var inputTypes = func() map[string]protoreflect.MessageDescriptor {
	out := map[string]protoreflect.MessageDescriptor{}
	services := v1.File_cloudledger_v1_ledger_proto.Services()
	for i := 0; i < services.Len(); i++ {
		s := services.Get(i)
		for j := 0; j < s.Methods().Len(); j++ {
			m := s.Methods().Get(j)
			out["/"+string(s.FullName())+"/"+string(m.Name())] = m.Input()
		}
	}
	return out
}()

// withStrictJSON checks a unary Connect JSON request body for unknown fields before the
// handler reads it.
func withStrictJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		desc, ok := inputTypes[r.URL.Path]
		ct := r.Header.Get("Content-Type")
		if !ok || r.Method != http.MethodPost || !strings.HasPrefix(ct, "application/json") || r.Header.Get("Content-Encoding") != "" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body) // bounded by withLimits
		if err != nil {
			writeErr(w, r, errcode.Errf(errcode.RequestTooLarge, "", "reading the request: %v", err))
			return
		}
		if len(bytes.TrimSpace(body)) > 0 {
			if err := (protojson.UnmarshalOptions{}).Unmarshal(body, dynamicpb.NewMessage(desc)); err != nil {
				writeErr(w, r, protoJSONError(err))
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
