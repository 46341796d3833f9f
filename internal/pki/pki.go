// Package pki makes the certificates of a CloudLedger cluster with crypto/x509: a cluster
// CA, and node certificates whose common name is the node id (Raft peers are checked by node
// id) with the node's host names and addresses for the API. Keys are ECDSA P-256, in PEM.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Validities of what this package issues.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	NodeValidity = 5 * 365 * 24 * time.Hour
)

// CA is a certificate authority that can sign (Key is nil for a CA known only by its
// certificate, as with an operator's PKI).
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	Key     crypto.Signer
	KeyPEM  []byte
}

// NewCA makes a self-signed CA.
func NewCA(name string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name, Organization: []string{"CloudLedger"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(CAValidity),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	keyPEM, err := keyToPEM(key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Key: key, KeyPEM: keyPEM}, nil
}

// ParseCA reads a CA certificate and, if keyPEM is not empty, its key.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: cert, CertPEM: certPEM}
	if len(keyPEM) > 0 {
		if ca.Key, err = parseKey(keyPEM); err != nil {
			return nil, err
		}
		ca.KeyPEM = keyPEM
	}
	return ca, nil
}

// Pool is a pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// NewCSR makes a key and a certificate request for a node.
func NewCSR(nodeID string) (csrPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: nodeID}}, key)
	if err != nil {
		return nil, nil, err
	}
	if keyPEM, err = keyToPEM(key); err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), keyPEM, nil
}

// SignCSR issues a node certificate for a request whose common name is nodeID.
func (ca *CA) SignCSR(csrPEM []byte, nodeID string, hosts []string, now time.Time) ([]byte, error) {
	if ca.Key == nil {
		return nil, errors.New("pki: this node holds no CA key")
	}
	b, _ := pem.Decode(csrPEM)
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("pki: not a PEM certificate request")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("pki: certificate request: %w", err)
	}
	if csr.Subject.CommonName != nodeID {
		return nil, fmt.Errorf("pki: the request names %q, the node is %q", csr.Subject.CommonName, nodeID)
	}
	return ca.issue(csr.PublicKey, nodeID, hosts, now)
}

// NewNode makes a key and a node certificate.
func (ca *CA) NewNode(nodeID string, hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if certPEM, err = ca.issue(key.Public(), nodeID, hosts, now); err != nil {
		return nil, nil, err
	}
	keyPEM, err = keyToPEM(key)
	return certPEM, keyPEM, err
}

func (ca *CA) issue(pub any, nodeID string, hosts []string, now time.Time) ([]byte, error) {
	if ca.Key == nil {
		return nil, errors.New("pki: this node holds no CA key")
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: nodeID, Organization: []string{"CloudLedger"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(NodeValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// Files are a node's certificate files in a directory.
type Files struct{ Dir string }

// Paths of the files.
func (f Files) CA() string      { return filepath.Join(f.Dir, "ca.pem") }
func (f Files) CAKey() string   { return filepath.Join(f.Dir, "ca-key.pem") }
func (f Files) Cert() string    { return filepath.Join(f.Dir, "node.pem") }
func (f Files) Key() string     { return filepath.Join(f.Dir, "node-key.pem") }
func (f Files) Members() string { return filepath.Join(f.Dir, "join-members.txt") }

// Exists reports whether the node certificate is there.
func (f Files) Exists() bool {
	_, err := os.Stat(f.Cert())
	return err == nil
}

// Write stores a CA (its key if known) and a node certificate, keys with mode 0600.
func (f Files) Write(ca *CA, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{{f.CA(), ca.CertPEM, 0o644}, {f.Cert(), certPEM, 0o644}, {f.Key(), keyPEM, 0o600}}
	if len(ca.KeyPEM) > 0 {
		files = append(files, struct {
			path string
			data []byte
			mode os.FileMode
		}{f.CAKey(), ca.KeyPEM, 0o600})
	}
	for _, x := range files {
		if err := writeFileSync(x.path, x.data, x.mode); err != nil {
			return err
		}
	}
	return nil
}

// Load reads the CA (with its key when present) and the node's key pair.
func (f Files) Load() (*CA, tls.Certificate, error) {
	return LoadFiles(f.CA(), f.CAKey(), f.Cert(), f.Key())
}

// LoadFiles reads a CA certificate (and its key if caKeyPath exists) and a key pair.
func LoadFiles(caPath, caKeyPath, certPath, keyPath string) (*CA, tls.Certificate, error) {
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	var caKey []byte
	if caKeyPath != "" {
		if caKey, err = os.ReadFile(caKeyPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, tls.Certificate{}, err
		}
	}
	ca, err := ParseCA(caPEM, caKey)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("%s: %w", caPath, err)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return ca, pair, nil
}

func writeFileSync(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func keyToPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseCert(p []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(p)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("pki: not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func parseKey(p []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(p)
	if b == nil {
		return nil, errors.New("pki: not a PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		if ec, err2 := x509.ParseECPrivateKey(b.Bytes); err2 == nil {
			return ec, nil
		}
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("pki: the key cannot sign")
	}
	return s, nil
}
