// Package console is CloudLedger's web console: server-rendered pages (html/template) for
// each role, Chinese first, with their tables downloadable as XLSX and CSV. It holds no
// data and no access rule of its own: every page reads and writes through the ledger's API,
// called in process as the signed-in account (inprocess.go), so the API's authorization,
// scoping and access trail apply to the console as to any client.
package console

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config wires the console to a node.
type Config struct {
	// API is the node's API handler (every procedure, with its middleware).
	API http.Handler
	// Secure marks the cookies Secure: set when the API is served over TLS.
	Secure bool
	// CSRFKey returns the key of the forms' CSRF tokens, the same on every node (derived
	// from the cluster's session key), nil until the cluster has one.
	CSRFKey func() []byte
	Log     *slog.Logger
	// MaxUploadBytes bounds an uploaded file (an import or an invoice); default MaxUpload.
	MaxUploadBytes int64
	// Record adds a refusal the console makes itself (a form without its CSRF token, an
	// upload by a role that may not) to the access trail; nil records nothing.
	Record func(account, role, addr, procedure, result string)
}

// MaxUpload is the default bound of an uploaded file.
const MaxUpload = 32 << 20

// Console serves the pages.
type Console struct {
	cfg      Config
	ledger   cloudledgerv1connect.LedgerServiceClient
	accounts cloudledgerv1connect.AccountServiceClient
	requests cloudledgerv1connect.RequestServiceClient
	findings cloudledgerv1connect.FindingServiceClient
	eval     cloudledgerv1connect.EvaluationServiceClient
	cluster  cloudledgerv1connect.ClusterServiceClient
	pages    map[string]*template.Template
	imports  *importJobs
	mux      *http.ServeMux
}

// New builds the console's handler, to be served at "/".
func New(cfg Config) (*Console, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = MaxUpload
	}
	hc := &http.Client{Transport: inProcess{api: cfg.API}}
	const base = "http://ledger.in-process"
	c := &Console{cfg: cfg,
		ledger:   cloudledgerv1connect.NewLedgerServiceClient(hc, base),
		accounts: cloudledgerv1connect.NewAccountServiceClient(hc, base),
		requests: cloudledgerv1connect.NewRequestServiceClient(hc, base),
		findings: cloudledgerv1connect.NewFindingServiceClient(hc, base),
		eval:     cloudledgerv1connect.NewEvaluationServiceClient(hc, base),
		cluster:  cloudledgerv1connect.NewClusterServiceClient(hc, base),
		imports:  newImportJobs(),
	}
	var err error
	if c.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// ServeHTTP adds the headers every answer carries, then routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Nothing but this origin's own files: no inline script or style, no frames, forms
	// post only here (the SVG charts are inline markup, styled by class).
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if c.cfg.Secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.mux.ServeHTTP(w, r)
}

// render writes a page: rendered into a buffer first, so that a template error is a 500
// and not half a page, and so that the renewed session cookie goes out in the headers.
func (c *Console) render(w http.ResponseWriter, r *http.Request, rq *pageRequest, status int, name string, p *Page) {
	t, ok := c.pages[name]
	if !ok {
		c.cfg.Log.Error("console: no template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.fill(rq)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.cfg.Log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	c.renewCookie(w, rq)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders an API error as a page: 403 for a refusal (the API has recorded it in the
// access trail), the sign-in page for an ended session, 400 for bad input.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, rq *pageRequest, err error) {
	code, msg := apiError(err)
	if connect.CodeOf(err) == connect.CodeUnauthenticated || code == "session_expired" {
		c.clearSession(w)
		http.Redirect(w, r, "/signin?expired=1&next="+url.QueryEscape(safeNext(r.URL.RequestURI())), http.StatusSeeOther)
		return
	}
	status := http.StatusBadRequest
	switch connect.CodeOf(err) {
	case connect.CodePermissionDenied:
		status = http.StatusForbidden
	case connect.CodeNotFound:
		status = http.StatusNotFound
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeAborted:
		status = http.StatusServiceUnavailable
	case connect.CodeInternal, connect.CodeUnknown, connect.CodeDataLoss:
		status = http.StatusInternalServerError
	}
	p := &Page{Title: rq.t("无法完成", "Not possible"), ErrorCode: code, Error: msg, ErrorDetail: apiDetail(err), Status: status}
	if status == http.StatusForbidden {
		p.Title = rq.t("无权访问", "Access denied")
	}
	c.render(w, r, rq, status, "error", p)
}

// TooLarge answers a request whose body is over the node's limit, before the console has
// read it: the error page (413) in the reader's language, not the API's JSON.
func (c *Console) TooLarge(w http.ResponseWriter, r *http.Request, limitBytes int64) {
	rq := c.newRequest(r)
	c.refuse(w, r, rq, http.StatusRequestEntityTooLarge, "upload_too_large",
		fmt.Sprintf(rq.t("上传内容超过 %d MiB，未处理；请拆分文件或另存为 CSV", "The upload is larger than %d MiB and was not read; split the file or save it as CSV"), limitBytes>>20))
}

// IsPage reports whether a path is the console's rather than the API's or an operator
// endpoint's.
func IsPage(path string) bool {
	for _, p := range []string{"/cloudledger.", "/internal/", "/kafka", "/metrics", "/debug/", "/healthz", "/livez", "/readyz", "/openapi.yaml"} {
		if strings.HasPrefix(path, p) {
			return false
		}
	}
	return true
}

// ctx is the context of a console request's API calls.
func (rq *pageRequest) ctx() context.Context { return rq.context }

// pageTimeout bounds every page's API calls.
const pageTimeout = 30 * time.Second
