package server

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// slogHclog hands hashicorp/raft's hclog output to the node's slog handler, so that one
// node writes one log format (--log-format text or json). Raft logs at warn and above
// unless the node logs at debug.
type slogHclog struct {
	l     *slog.Logger
	name  string
	args  []any
	level hclog.Level
}

func newRaftLogger(l *slog.Logger) hclog.Logger {
	lvl := hclog.Warn
	if l.Enabled(context.Background(), slog.LevelDebug) {
		lvl = hclog.Debug
	}
	return &slogHclog{l: l.With("component", "raft"), name: "raft", level: lvl}
}

func toSlog(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace, hclog.Debug:
		return slog.LevelDebug
	case hclog.Info, hclog.NoLevel, hclog.DefaultLevel:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func (h *slogHclog) Log(level hclog.Level, msg string, args ...any) {
	if level < h.level && level != hclog.NoLevel {
		return
	}
	h.l.Log(context.Background(), toSlog(level), msg, args...)
}
func (h *slogHclog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *slogHclog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *slogHclog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *slogHclog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *slogHclog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }
func (h *slogHclog) IsTrace() bool                 { return h.level <= hclog.Trace }
func (h *slogHclog) IsDebug() bool                 { return h.level <= hclog.Debug }
func (h *slogHclog) IsInfo() bool                  { return h.level <= hclog.Info }
func (h *slogHclog) IsWarn() bool                  { return h.level <= hclog.Warn }
func (h *slogHclog) IsError() bool                 { return h.level <= hclog.Error }
func (h *slogHclog) ImpliedArgs() []any            { return h.args }
func (h *slogHclog) With(args ...any) hclog.Logger {
	return &slogHclog{l: h.l.With(args...), name: h.name, args: append(h.args[:len(h.args):len(h.args)], args...), level: h.level}
}
func (h *slogHclog) Name() string { return h.name }
func (h *slogHclog) Named(name string) hclog.Logger {
	n := *h
	n.name = h.name + "." + name
	n.l = h.l.With("logger", n.name)
	return &n
}
func (h *slogHclog) ResetNamed(name string) hclog.Logger {
	n := *h
	n.name = name
	n.l = h.l.With("logger", name)
	return &n
}
func (h *slogHclog) SetLevel(level hclog.Level) { h.level = level }
func (h *slogHclog) GetLevel() hclog.Level      { return h.level }
func (h *slogHclog) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelWarn)
}
func (h *slogHclog) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}
