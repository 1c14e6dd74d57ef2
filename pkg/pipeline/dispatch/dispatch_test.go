package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline/dispatch"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
	"github.com/kubespace/kubespace/pkg/spacelet"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestRegistrationKeepsIdentityAcrossRestarts(t *testing.T) {
	w := newWorld(t, worldOpts{})
	dir := t.TempDir()
	tok := w.token(1)
	first := spacelet.New(w.svc.LocalPeer(), spacelet.Config{Name: "builder-1", Labels: map[string]string{"os": "linux"}, DataDir: dir,
		RegistrationToken: tok, Plugins: builtin.Default()})
	require.NoError(t, first.Register(w.ctx))
	cred := strings.TrimSpace(readFile(t, filepath.Join(dir, "credential")))
	require.True(t, strings.HasPrefix(cred, protocol.CredentialPrefix))
	st, err := os.Stat(filepath.Join(dir, "credential"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// A restart without the token: the same spacelet, the same credential.
	again := spacelet.New(w.svc.LocalPeer(), spacelet.Config{Name: "builder-1", DataDir: dir, Plugins: builtin.Default()})
	require.NoError(t, again.Register(w.ctx))
	require.Equal(t, first.ID(), again.ID())
	require.Equal(t, cred, strings.TrimSpace(readFile(t, filepath.Join(dir, "credential"))))
	sp, err := w.st.Spacelets.Get(w.ctx, first.ID())
	require.NoError(t, err)
	require.Equal(t, map[string]string{"os": "linux"}, dispatch.DecodeLabels(sp.Labels), "labels set at the start stay")
	require.NotEqual(t, cred, sp.CredentialHash, "only the hash is stored")
	page, err := w.st.Spacelets.List(w.ctx, store.ListOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 1, page.Total)

	// The name is taken while that spacelet is online.
	other := spacelet.New(w.svc.LocalPeer(), spacelet.Config{Name: "builder-1", DataDir: t.TempDir(), RegistrationToken: tok, Plugins: builtin.Default()})
	err = other.Register(w.ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "is online")

	// Removed: the credential is refused, and without a token the spacelet says what to do.
	_, err = w.svc.Delete(w.ctx, first.ID())
	require.NoError(t, err)
	err = again.Register(w.ctx)
	require.ErrorIs(t, err, protocol.ErrUnauthorized)
}

func TestRegistrationTokensRefused(t *testing.T) {
	w := newWorld(t, worldOpts{sqlite: true})
	reg := func(token string) error {
		_, err := w.svc.Register(w.ctx, protocol.RegisterRequest{Token: token, Name: "x", Capacity: 1})
		return err
	}
	require.ErrorContains(t, reg("ksr_nope"), "registration token refused")
	ct, err := w.svc.CreateToken(w.ctx, 1, dispatch.TokenInput{Name: "old"}, "https://ks.example")
	require.NoError(t, err)
	require.Contains(t, ct.Command, "SERVER_URL=https://ks.example REGISTRATION_TOKEN="+ct.Token)
	require.NoError(t, w.svc.DeleteToken(w.ctx, ct.ID))
	require.ErrorContains(t, reg(ct.Token), "registration token refused")

	// Expired.
	exp := dispatch.New(dispatch.Deps{Spacelets: w.st.Spacelets, Tokens: w.st.SpaceletTokens, Dispatch: w.st.JobDispatch, Runs: w.st.PipelineRuns,
		Logs: w.st.JobLogs, Bus: w.bus, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	tok := w.token(1)
	_, err = exp.Register(w.ctx, protocol.RegisterRequest{Token: tok, Name: "x", Capacity: 1})
	require.ErrorContains(t, err, "expired")
	require.True(t, errs.Is(err, errs.Unauthenticated))

	for name, r := range map[string]protocol.RegisterRequest{
		"both":      {Token: tok, Credential: "ksw_x", Name: "x", Capacity: 1},
		"name":      {Token: tok, Name: "-bad name", Capacity: 1},
		"capacity":  {Token: tok, Name: "x", Capacity: 0},
		"label key": {Token: tok, Name: "x", Capacity: 1, Labels: map[string]string{"a b": "c"}},
		"label val": {Token: tok, Name: "x", Capacity: 1, Labels: map[string]string{"os": "linux!"}},
	} {
		_, err := w.svc.Register(w.ctx, r)
		require.True(t, errs.Is(err, errs.Invalid), "%s: %v", name, err)
	}
	hours := 0
	_, err = w.svc.CreateToken(w.ctx, 1, dispatch.TokenInput{Name: "x", ExpiresInHours: &hours}, "")
	require.ErrorContains(t, err, "expires_in_hours")
}

// A job runs on the spacelet it was assigned to: its log streams while it runs, its outputs
// are recorded, the work directory is its own and is removed afterwards.
func TestJobRunsOnItsSpacelet(t *testing.T) {
	w := newWorld(t, worldOpts{})
	a, dir := w.agent("one", nil, nil)
	j := w.job(`echo "build $PIPELINE_BUILD_NUMBER in $(pwd)"; echo started; sleep 0.5; echo "IMAGE=app:$PIPELINE_BUILD_NUMBER" >> $PIPELINE_OUTPUT`,
		0, map[string]string{"PIPELINE_BUILD_NUMBER": "7"})
	w.assign(j, a.ID())
	w.waitStatus(j.ID, store.StatusDoing, 5*time.Second)
	require.Eventually(t, func() bool { return strings.Contains(w.logOf(j.ID), "started") }, 5*time.Second, 5*time.Millisecond,
		"the log streams while the job runs")
	done := w.waitStatus(j.ID, store.StatusOK, 10*time.Second)
	require.JSONEq(t, `{"IMAGE":"app:7"}`, done.Outputs)
	log := w.logOf(j.ID)
	require.Contains(t, log, "build 7 in "+filepath.Join(dir, "jobs", strconv.FormatInt(j.ID, 10)))
	require.EqualValues(t, len(log), done.LogSize)
	require.NoDirExists(t, filepath.Join(dir, "jobs", strconv.FormatInt(j.ID, 10)))
	require.EqualValues(t, 1, a.Executed())
}

func TestFailingJobAndTimeout(t *testing.T) {
	w := newWorld(t, worldOpts{})
	a, _ := w.agent("one", nil, nil)
	fail := w.job("echo about to fail; exit 4", 0, nil)
	slow := w.job("sleep 30", 1, nil)
	w.assign(fail, a.ID())
	w.assign(slow, a.ID())
	f := w.waitStatus(fail.ID, store.StatusError, 10*time.Second)
	require.Equal(t, 4, f.ExitCode)
	require.Contains(t, f.Message, "exited with code 4")
	s := w.waitStatus(slow.ID, store.StatusError, 10*time.Second)
	require.Contains(t, s.Message, "timed out after 1s")
	require.Contains(t, w.logOf(slow.ID), "timed out after 1s")
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// Cancelling a running job stops its processes within a second and records it canceled; a job
// the server takes away (failed after a lost lease) is stopped as well.
func TestCancelWithinASecond(t *testing.T) {
	w := newWorld(t, worldOpts{})
	a, _ := w.agent("one", nil, nil)
	pids := t.TempDir()
	for _, c := range []struct{ name, status, want string }{
		{"cancel", store.StatusCancel, store.StatusCanceled},
		{"taken away", store.StatusError, store.StatusError},
	} {
		pidFile := filepath.Join(pids, c.name)
		j := w.job(`trap "" TERM; sleep 300 & echo $! > "`+pidFile+`"; wait`, 0, nil)
		w.assign(j, a.ID())
		w.waitStatus(j.ID, store.StatusDoing, 5*time.Second)
		var pid int
		require.Eventually(t, func() bool {
			b, err := os.ReadFile(pidFile)
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			return err == nil && pid > 0
		}, 5*time.Second, 5*time.Millisecond)
		start := time.Now()
		w.setStatus(j.ID, c.status)
		require.Eventually(t, func() bool { return !alive(pid) }, time.Second, 5*time.Millisecond,
			"%s: the job's process is still running a second later", c.name)
		t.Logf("%s: process gone after %s", c.name, time.Since(start))
		if c.want == store.StatusCanceled {
			got := w.waitStatus(j.ID, store.StatusCanceled, time.Second)
			require.Equal(t, "cancelled", got.Message)
		}
		require.Eventually(t, func() bool { return a.Running() == 0 }, 5*time.Second, 5*time.Millisecond)
	}
}

// A draining spacelet takes no new job; undrained, it takes the waiting one at once.
func TestDrainingTakesNoJobs(t *testing.T) {
	w := newWorld(t, worldOpts{})
	a, _ := w.agent("one", nil, nil)
	yes := true
	_, err := w.svc.Update(w.ctx, a.ID(), dispatch.SpaceletInput{Draining: &yes})
	require.NoError(t, err)
	j := w.job("true", 0, nil)
	w.assign(j, a.ID())
	time.Sleep(500 * time.Millisecond)
	cur, err := w.st.PipelineRuns.GetJob(w.ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, store.StatusWait, cur.Status, "a draining spacelet took a job")
	no := false
	v, err := w.svc.Update(w.ctx, a.ID(), dispatch.SpaceletInput{Draining: &no, Labels: &map[string]string{"pool": "b"}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"pool": "b"}, v.Labels)
	w.waitStatus(j.ID, store.StatusOK, 5*time.Second)
}

type secretCheckouts struct{}

func (secretCheckouts) Checkout(context.Context, *store.PipelineRun) (*protocol.Checkout, error) {
	return &protocol.Checkout{URL: "https://git.example/r.git", Branch: "main", Commit: "0123456789abcdef", Username: "ci", Password: "hunter2-very-secret"}, nil
}

// printingCheckout stands in for the git clone (pkg/gitrepo): it prints the password, as a
// verbose git would, so the test sees it masked.
type printingCheckout struct{}

func (printingCheckout) Checkout(_ context.Context, dir string, co protocol.Checkout, log io.Writer) error {
	half := len(co.Password) / 2
	_, _ = io.WriteString(log, "cloning with "+co.Password[:half])
	_, _ = io.WriteString(log, co.Password[half:]+" done\n")
	return os.WriteFile(filepath.Join(dir, "README"), []byte(co.Commit), 0o600)
}

func TestCheckoutBeforeThePluginAndMasking(t *testing.T) {
	w := newWorld(t, worldOpts{checkouts: secretCheckouts{}})
	a, _ := w.agent("one", nil, printingCheckout{})
	j := w.job("cat README; echo; echo pw=hunter2-very-secret", 0, nil)
	w.assign(j, a.ID())
	w.waitStatus(j.ID, store.StatusOK, 10*time.Second)
	log := w.logOf(j.ID)
	require.Contains(t, log, "0123456789abcdef")
	require.Contains(t, log, "cloning with *** done")
	require.Contains(t, log, "pw=***")
	require.NotContains(t, log, "hunter2")

	// A spacelet without git support fails such jobs with a reason.
	b, _ := w.agent("two", nil, nil)
	j2 := w.job("true", 0, nil)
	w.assign(j2, b.ID())
	got := w.waitStatus(j2.ID, store.StatusError, 10*time.Second)
	require.Contains(t, got.Message, "cannot check out code")
}

// Values of variables named like secrets are masked in the log.
func TestSecretLikeVariablesMasked(t *testing.T) {
	w := newWorld(t, worldOpts{sqlite: true})
	a, _ := w.agent("one", nil, nil)
	j := w.job(`echo "token=$DEPLOY_TOKEN pw=$DB_PASSWORD user=$DB_USER"`, 0,
		map[string]string{"DEPLOY_TOKEN": "tok-123456", "DB_PASSWORD": "pa55word!", "DB_USER": "deployer"})
	w.assign(j, a.ID())
	w.waitStatus(j.ID, store.StatusOK, 10*time.Second)
	require.Equal(t, "token=*** pw=*** user=deployer\n", w.logOf(j.ID))
}

func TestProtocolEdges(t *testing.T) {
	w := newWorld(t, worldOpts{})
	peer := w.svc.LocalPeer()
	resp, err := peer.Register(w.ctx, protocol.RegisterRequest{Token: w.token(1), Name: "manual", Capacity: 1})
	require.NoError(t, err)
	peer.SetCredential(resp.Credential)
	_, err = peer.Next(w.ctx)
	require.NoError(t, err)

	j := w.job("true", 0, nil)
	_, err = peer.Log(w.ctx, j.ID, 0, []byte("x"))
	require.ErrorIs(t, err, protocol.ErrGone, "not this spacelet's job")
	w.assign(j, resp.ID)
	got, err := peer.Next(w.ctx)
	require.NoError(t, err)
	require.Equal(t, j.ID, got.ID)
	require.JSONEq(t, `{"script":"true"}`, string(got.Params))

	n, err := peer.Log(w.ctx, j.ID, 0, []byte("hello "))
	require.NoError(t, err)
	require.EqualValues(t, 6, n)
	n, err = peer.Log(w.ctx, j.ID, 0, []byte("hello "))
	require.NoError(t, err, "a resend is harmless")
	require.EqualValues(t, 6, n)
	_, err = peer.Log(w.ctx, j.ID, 100, []byte("gap"))
	e, ok := errs.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, protocol.CodeLogGap, e.Code)
	_, err = peer.Log(w.ctx, j.ID, 3, []byte("lo world"))
	require.NoError(t, err, "a chunk partly stored keeps its new part")
	require.Equal(t, "hello world", w.logOf(j.ID))

	ext, err := peer.Extend(w.ctx, j.ID)
	require.NoError(t, err)
	require.False(t, ext.Cancelled)
	c, err := peer.Cancelled(w.ctx, j.ID)
	require.NoError(t, err)
	require.False(t, c, "no cancel within the poll")

	require.Error(t, peer.Done(w.ctx, j.ID, protocol.Result{Status: "great"}))
	require.Error(t, peer.Done(w.ctx, j.ID, protocol.Result{Status: "ok", Outputs: map[string]string{"1BAD": "x"}}))
	require.NoError(t, peer.Done(w.ctx, j.ID, protocol.Result{Status: "ok", Outputs: map[string]string{"A": "1"}}))
	require.NoError(t, peer.Done(w.ctx, j.ID, protocol.Result{Status: "ok"}), "a repeated report is harmless")
	_, err = peer.Extend(w.ctx, j.ID)
	require.ErrorIs(t, err, protocol.ErrGone)
	_, err = peer.Cancelled(w.ctx, j.ID)
	require.ErrorIs(t, err, protocol.ErrGone)

	peer.SetCredential("ksw_wrong")
	_, err = peer.Next(w.ctx)
	require.True(t, errors.Is(err, protocol.ErrUnauthorized), "%v", err)
}

// A job writing more than the spacelet's log limit keeps running; its log ends with a notice.
func TestLogLimit(t *testing.T) {
	w := newWorld(t, worldOpts{sqlite: true})
	a := spacelet.New(w.svc.LocalPeer(), spacelet.Config{Name: "small", DataDir: t.TempDir(), RegistrationToken: w.token(1),
		Plugins: builtin.Default(), MaxLogBytes: 1000})
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	require.Eventually(t, func() bool { return a.ID() != 0 }, 10*time.Second, 10*time.Millisecond)
	j := w.job(`for i in $(seq 1 500); do echo "line $i"; done; echo "DONE=1" >> $PIPELINE_OUTPUT`, 0, nil)
	w.assign(j, a.ID())
	got := w.waitStatus(j.ID, store.StatusOK, 10*time.Second)
	require.JSONEq(t, `{"DONE":"1"}`, got.Outputs)
	log := w.logOf(j.ID)
	require.True(t, strings.HasPrefix(log, "line 1\nline 2\n"))
	require.Contains(t, log, "the log reached 1000 bytes")
	require.Less(t, len(log), 1200)
}

// A single-use token registers exactly one spacelet, even when several try at once.
func TestSingleUseToken(t *testing.T) {
	w := newWorld(t, worldOpts{})
	ct, err := w.svc.CreateToken(w.ctx, 1, dispatch.TokenInput{Name: "once", SingleUse: true}, "http://ks")
	require.NoError(t, err)
	require.True(t, ct.SingleUse)
	const n = 6
	errsC := make(chan error, n)
	for i := range n {
		go func() {
			_, err := w.svc.Register(w.ctx, protocol.RegisterRequest{Token: ct.Token, Name: fmt.Sprintf("s%d", i), Capacity: 1})
			errsC <- err
		}()
	}
	ok := 0
	for range n {
		err := <-errsC
		if err == nil {
			ok++
			continue
		}
		e, _ := errs.As(err)
		require.NotNil(t, e, "%v", err)
		require.Equal(t, "registration_token_used", e.Code)
	}
	require.Equal(t, 1, ok)
	page, err := w.svc.ListTokens(w.ctx, store.ListOptions{})
	require.NoError(t, err)
	require.NotNil(t, page.Items[0].LastUsedAt)

	// A reusable token registers many.
	tok := w.token(1)
	for i := range 3 {
		_, err := w.svc.Register(w.ctx, protocol.RegisterRequest{Token: tok, Name: fmt.Sprintf("fleet-%d", i), Capacity: 1})
		require.NoError(t, err)
	}
}
