package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudledger/cloudledger/ledger"
)

// TokenFile is where the admin token is written inside the data dir.
const TokenFile = "admin.token"

// prepareToken returns the admin token this node installs at bootstrap, written on first
// start to DIR/admin.token with mode 0600. A node that joined holds no bootstrap credential
// (""), and neither does a restarted node that has none in its directory.
func (s *Server) prepareToken(fresh bool) (string, error) {
	path := filepath.Join(s.cfg.DataDir, TokenFile)
	if raw, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(raw))
		if s.cfg.Token != "" && s.cfg.Token != tok {
			s.log.Warn("the token given (--token-file or CLOUDLEDGER_TOKEN) differs from the token file; the ledger keeps the token it was bootstrapped with", "file", path)
		}
		return tok, nil
	}
	if !fresh || s.cfg.Join != "" {
		return "", nil
	}
	tok := s.cfg.Token
	if strings.Contains(tok, ".") {
		return "", errors.New("an admin token may not contain '.': a Bearer credential with one is read as a session")
	}
	if tok == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		tok = hex.EncodeToString(b[:])
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	s.log.Info("admin token written", "path", path)
	return tok, nil
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// installTokenLoop installs the admin token on a cluster bootstrapped by this node as soon
// as it leads, independent of the tick interval (with --tick-interval 1h the API would
// otherwise refuse every call for an hour). It ends once the ledger holds a token.
func (s *Server) installTokenLoop(ctx context.Context, token string) {
	t := time.NewTicker(tokenInstallPoll)
	defer t.Stop()
	for s.ledger.AdminTokenSHA256() == "" {
		if s.node.IsLeader() {
			// The bootstrap accounts and the session key come with the token, so a new
			// cluster's first call already finds its accounts.
			req := ledger.Submission{Actor: "system", Commands: []ledger.Command{
				{Body: &ledger.InstallAdminToken{SetAdminToken: ledger.SetAdminToken{TokenSHA256: tokenHash(token)}}},
				{Key: "accounts/bootstrap", Body: &ledger.BootstrapAccounts{}},
				{Body: &ledger.SetSessionKey{Key: newSessionKey()}}}}
			if _, _, err := s.prop.submit(ctx, req); err != nil {
				s.log.Warn("installing admin token", "err", err)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// accessSetupLoop makes sure, on new and existing data directories alike, that the ledger
// has its bootstrap accounts (the admin token as the credential of `admin` and `security`)
// and a session key. Whichever node leads proposes what is missing; it ends when both are.
func (s *Server) accessSetupLoop(ctx context.Context) {
	t := time.NewTicker(tokenInstallPoll)
	defer t.Stop()
	for s.ledger.AccountCount() == 0 || s.ledger.SessionKey() == nil {
		if s.node.IsLeader() && s.ledger.AdminTokenSHA256() != "" {
			var cmds []ledger.Command
			if s.ledger.AccountCount() == 0 {
				cmds = append(cmds, ledger.Command{Key: "accounts/bootstrap", Body: &ledger.BootstrapAccounts{}})
			}
			if s.ledger.SessionKey() == nil {
				cmds = append(cmds, ledger.Command{Body: &ledger.SetSessionKey{Key: newSessionKey()}})
			}
			if res, _, err := s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: cmds}); err != nil || res.Err != nil {
				s.log.Warn("installing the bootstrap accounts and the session key", "err", err, "result", res.Err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tokenInstallPoll is how often a node checks whether it leads yet.
const tokenInstallPoll = 50 * time.Millisecond

func newSessionKey() string {
	var k [32]byte
	_, _ = rand.Read(k[:])
	return hex.EncodeToString(k[:])
}
