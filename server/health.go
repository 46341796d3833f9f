package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// Health (issue 13): /livez answers while the process serves; /readyz only while a leader
// is known, a follower has heard from it lately and this node has applied what is committed
// within ReadyMaxLag entries — a node cut off from the leader answers 503, so a load
// balancer sends no one to it. The gRPC health protocol says the same, and reflection lets
// grpcurl list the services. None of them carries ledger data: no credential needed.
const (
	ReadyMaxLag     = 1000
	ReadyMaxContact = 5 * time.Second
)

func (s *Server) ready() error { return s.node.Ready(ReadyMaxLag, ReadyMaxContact) }

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if err := s.ready(); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// healthChecker answers the gRPC health protocol for the whole server and each service.
type healthChecker struct{ s *Server }

func (c healthChecker) Check(_ context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	switch req.Service {
	case "", cloudledgerv1connect.LedgerServiceName, cloudledgerv1connect.ClusterServiceName, cloudledgerv1connect.AccountServiceName,
		cloudledgerv1connect.RequestServiceName:
	default:
		return nil, grpcNotFound(req.Service)
	}
	if c.s.ready() != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

func (s *Server) healthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/readyz", s.readyz)
	mux.Handle(grpchealth.NewHandler(healthChecker{s}))
	reflector := grpcreflect.NewStaticReflector(cloudledgerv1connect.LedgerServiceName, cloudledgerv1connect.ClusterServiceName,
		cloudledgerv1connect.AccountServiceName, cloudledgerv1connect.RequestServiceName, grpchealth.HealthV1ServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
}

func grpcNotFound(service string) error {
	return connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", service))
}
