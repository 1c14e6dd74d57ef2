package shell_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/plugin"
	"github.com/kubespace/kubespace/pkg/plugin/shell"
)

// syncBuffer is a log writer tests read while the script runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func job(t *testing.T, params map[string]any, env map[string]string) (*plugin.Job, *syncBuffer) {
	t.Helper()
	raw, err := json.Marshal(params)
	require.NoError(t, err)
	log := &syncBuffer{}
	return &plugin.Job{ID: 1, Params: raw, Env: env, Dir: t.TempDir(), Log: log}, log
}

func TestShellOutputsEnvAndDir(t *testing.T) {
	t.Parallel()
	for _, sh := range []string{"bash", "sh"} {
		t.Run(sh, func(t *testing.T) {
			t.Parallel()
			j, log := job(t, map[string]any{"shell": sh, "script": `
echo "hello $GREETING"
pwd > where
echo "VERSION=1.$BUILD" >> "$PIPELINE_OUTPUT"
echo "# a comment" >> "$PIPELINE_OUTPUT"
echo "not a pair" >> "$PIPELINE_OUTPUT"
echo "IMAGE=repo/app:tag=x" >> "$PIPELINE_OUTPUT"
echo "on stderr" >&2
`}, map[string]string{"GREETING": "world", "BUILD": "7"})
			out, err := shell.New().Run(context.Background(), j)
			require.NoError(t, err)
			require.Equal(t, map[string]string{"VERSION": "1.7", "IMAGE": "repo/app:tag=x"}, out)
			require.Contains(t, log.String(), "hello world\n")
			require.Contains(t, log.String(), "on stderr\n")
			require.Contains(t, log.String(), "ignoring line 3")
			where, err := os.ReadFile(filepath.Join(j.Dir, "where"))
			require.NoError(t, err)
			dir, _ := filepath.EvalSymlinks(j.Dir)
			got, _ := filepath.EvalSymlinks(strings.TrimSpace(string(where)))
			require.Equal(t, dir, got)
		})
	}
}

func TestShellSpaceletEnvironmentStaysOut(t *testing.T) {
	t.Setenv("REGISTRATION_TOKEN", "ksr_secret")
	j, log := job(t, map[string]any{"script": `echo "token=[$REGISTRATION_TOKEN]"; command -v ls >/dev/null && echo path-ok`}, nil)
	_, err := shell.New().Run(context.Background(), j)
	require.NoError(t, err)
	require.Contains(t, log.String(), "token=[]")
	require.Contains(t, log.String(), "path-ok")
}

func TestShellExitCodeDecides(t *testing.T) {
	t.Parallel()
	j, _ := job(t, map[string]any{"script": "echo A=1 >> $PIPELINE_OUTPUT\nexit 3"}, nil)
	out, err := shell.New().Run(context.Background(), j)
	require.Nil(t, out)
	var ee *plugin.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	require.Equal(t, 3, ee.Code)
	require.Contains(t, ee.Error(), "exited with code 3")

	// -e: a failing command fails the script.
	j, log := job(t, map[string]any{"script": "false\necho unreachable"}, nil)
	_, err = shell.New().Run(context.Background(), j)
	require.True(t, errors.As(err, &ee))
	require.Equal(t, 1, ee.Code)
	require.NotContains(t, log.String(), "unreachable")
}

func TestShellBadParams(t *testing.T) {
	t.Parallel()
	for name, params := range map[string]string{
		"no script":     `{}`,
		"blank script":  `{"script":"  "}`,
		"unknown shell": `{"script":"true","shell":"zsh"}`,
		"unknown field": `{"script":"true","shel":"sh"}`,
		"wrong type":    `{"script":5}`,
		"not an object": `[]`,
	} {
		_, err := shell.ParseParams(json.RawMessage(params))
		require.Error(t, err, name)
		require.Contains(t, err.Error(), "execute_shell params", name)
		_, err = shell.New().Run(context.Background(), &plugin.Job{Params: json.RawMessage(params), Dir: t.TempDir()})
		require.Error(t, err, name)
	}
	var s map[string]any
	require.NoError(t, json.Unmarshal(shell.New().Schema(), &s))
	require.Equal(t, []any{"script"}, s["required"])
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// waitPID reads the pid a script wrote to a file.
func waitPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}, 10*time.Second, 10*time.Millisecond)
	return pid
}

// Cancelling the job ends the script and the processes it started, the ones ignoring SIGTERM
// included, within a second.
func TestShellCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	j, _ := job(t, map[string]any{"script": `trap "" TERM; sleep 300 & echo $! > ` + pidFile + `; wait`}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := shell.New().Run(ctx, j)
		done <- err
	}()
	pid := waitPID(t, pidFile)
	require.True(t, alive(pid))
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(time.Second):
		t.Fatal("Run did not return within a second of the cancel")
	}
	require.Eventually(t, func() bool { return !alive(pid) }, time.Second-time.Since(start), time.Millisecond,
		"the background sleep survived its job")
	t.Logf("stopped in %s", time.Since(start))
}

func TestShellTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	j, _ := job(t, map[string]any{"shell": "sh", "script": `sleep 300 & echo $! > ` + pidFile + `; sleep 300`}, nil)
	ctx, cancel := context.WithTimeoutCause(context.Background(), 300*time.Millisecond, errors.New("job timed out"))
	defer cancel()
	_, err := shell.New().Run(ctx, j)
	require.ErrorContains(t, err, "job timed out")
	pid := waitPID(t, pidFile)
	require.Eventually(t, func() bool { return !alive(pid) }, time.Second, time.Millisecond, "the background sleep survived the timeout")
}

// A script that ends leaves nothing running behind it, and the job does not wait for the
// background process that holds its output open.
func TestShellEndKillsLeftovers(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	j, _ := job(t, map[string]any{"script": `sleep 300 & echo $! > ` + pidFile + `; echo OK=1 >> $PIPELINE_OUTPUT`}, nil)
	out, err := shell.New().Run(context.Background(), j)
	require.NoError(t, err)
	require.Equal(t, "1", out["OK"])
	pid := waitPID(t, pidFile)
	// SIGKILL was sent before Run returned; its delivery is asynchronous.
	require.Eventually(t, func() bool { return !alive(pid) }, time.Second, time.Millisecond)
}

// Output reaches the writer while the script runs, not only at its end.
func TestShellStreamsOutput(t *testing.T) {
	t.Parallel()
	j, log := job(t, map[string]any{"script": `echo first; sleep 300`}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = shell.New().Run(ctx, j)
	}()
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "first\n") }, 10*time.Second, 10*time.Millisecond)
	cancel()
	<-done
}
