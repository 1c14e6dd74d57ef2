// Package config loads the typed configuration of each KubeSpace binary from environment
// variables (the names in ARCHITECTURE §2), with command-line flags overriding them, and validates
// it at start with messages that name the bad setting.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/secretbox"
)

// MySQL is where the server keeps its state in production. An empty Host selects the embedded
// SQLite database.
type MySQL struct {
	Host     string // host or host:port
	Port     int
	User     string
	Password string
	DBName   string
}

// Addr returns host:port, honouring a port given inside Host.
func (m MySQL) Addr() string {
	if _, _, err := net.SplitHostPort(m.Host); err == nil {
		return m.Host
	}
	return net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
}

// Redis is the production event bus; an empty Address selects the in-process bus.
type Redis struct {
	Address  string
	Password string
}

// loader binds settings to flags whose defaults come from the environment, remembering which
// environment variable each flag stands for so errors can name both.
type loader struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
	names  map[string]string // flag name -> env name
}

func newLoader(name string, getenv func(string) string) *loader {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &loader{fs: fs, getenv: getenv, names: map[string]string{}}
}

func flagName(env string) string { return strings.ReplaceAll(strings.ToLower(env), "_", "-") }

func (l *loader) str(p *string, env, def, usage string) {
	v := l.getenv(env)
	if v == "" {
		v = def
	}
	l.names[flagName(env)] = env
	l.fs.StringVar(p, flagName(env), v, usage+" (env "+env+")")
}

func (l *loader) integer(p *int, env string, def int, usage string) {
	v := def
	if s := l.getenv(env); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("%s=%q: must be an integer", env, s))
		} else {
			v = n
		}
	}
	l.names[flagName(env)] = env
	l.fs.IntVar(p, flagName(env), v, usage+" (env "+env+")")
}

func (l *loader) duration(p *time.Duration, env string, def time.Duration, usage string) {
	v := def
	if s := l.getenv(env); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("%s=%q: must be a duration such as 12h or 30m", env, s))
		} else {
			v = d
		}
	}
	l.names[flagName(env)] = env
	l.fs.DurationVar(p, flagName(env), v, usage+" (env "+env+")")
}

func (l *loader) parse(args []string) error {
	if err := l.fs.Parse(args); err != nil {
		return err
	}
	if l.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", l.fs.Arg(0))
	}
	return errors.Join(l.errs...)
}

// checkURL validates an optional absolute http(s) URL setting.
func checkURL(env, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s=%q: must be an absolute http(s) URL", env, v)
	}
	return nil
}

func checkPort(env string, p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("%s=%d: must be a port between 1 and 65535", env, p)
	}
	return nil
}

// secretKey reads the key sealing secrets at rest from SECRET_KEY (value) or SECRET_KEY_FILE
// (file); at most one may be set, and neither gives nil.
func secretKey(value, file string) ([]byte, error) {
	switch {
	case value != "" && file != "":
		return nil, errors.New("set only one of SECRET_KEY and SECRET_KEY_FILE")
	case value != "":
		k, err := secretbox.ParseKey(value)
		if err != nil {
			return nil, fmt.Errorf("SECRET_KEY %w (generate one with: openssl rand -base64 32)", err)
		}
		return k, nil
	case file != "":
		k, err := secretbox.ReadKeyFile(file)
		if err != nil {
			return nil, fmt.Errorf("SECRET_KEY_FILE: %w", err)
		}
		return k, nil
	}
	return nil, nil
}
