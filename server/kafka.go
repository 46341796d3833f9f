package server

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/kafkabridge"
)

// kafkaRoutes serves the Kafka bridge's status and its skip over an offset gap. Answers,
// errors included, are JSON; an error carries its code as every API error does.
func (s *Server) kafkaRoutes(mux *http.ServeMux) {
	mux.Handle("/kafka", s.authHTTP(pathKafka, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := kafkabridge.Report{}
		if s.bridge != nil {
			rep = s.bridge.Report()
		}
		writeJSONStatus(w, http.StatusOK, rep)
	})))
	mux.Handle("POST /kafka/skip", s.authHTTP(pathKafkaSkip, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Partition int   `json:"partition"`
			To        int64 `json:"to"`
		}
		switch {
		case s.bridge == nil:
			writeJSONError(w, http.StatusNotFound, errcode.Errf(errcode.Unavailable, "", "kafka is not configured on this node"))
		case !s.node.IsLeader():
			_, _, leaderURL := s.node.Leader()
			writeJSONError(w, http.StatusConflict, errcode.Errf(errcode.Unavailable, "", "not the leader; ask %s", leaderURL))
		case json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req) != nil || req.Partition < 0 || req.To < 0:
			writeJSONError(w, http.StatusBadRequest, errcode.Errf(errcode.Malformed, "", `want {"partition": N, "to": OFFSET}`))
		default:
			if err := s.bridge.Skip(r.Context(), req.Partition, req.To); err != nil {
				writeJSONError(w, http.StatusConflict, errcode.Errf(errcode.Of(err), "", "%v", err))
				return
			}
			writeJSONStatus(w, http.StatusOK, s.bridge.Report())
		}
	})))
}

// jsonError is the body of a failed plain-HTTP call: the fields of the API's ErrorDetail.
type jsonError struct {
	Code    errcode.Code `json:"code"`
	Field   string       `json:"field,omitempty"`
	Message string       `json:"message"`
}

func writeJSONError(w http.ResponseWriter, status int, e *errcode.Error) {
	writeJSONStatus(w, status, jsonError{Code: e.Code, Field: e.Field, Message: e.Message})
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
