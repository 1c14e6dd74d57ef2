package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
)

// resourcePage is a cached list.
type resourcePage struct {
	Items []struct {
		Metadata struct {
			Name              string            `json:"name"`
			Namespace         string            `json:"namespace"`
			CreationTimestamp string            `json:"creationTimestamp"`
			Labels            map[string]string `json:"labels"`
			ManagedFields     []any             `json:"managedFields"`
		} `json:"metadata"`
	} `json:"items"`
	Total           int    `json:"total"`
	Continue        string `json:"continue"`
	ResourceVersion string `json:"resource_version"`
}

// names returns "namespace/name" of every item, in order.
func (p resourcePage) names() []string {
	out := make([]string, 0, len(p.Items))
	for _, it := range p.Items {
		out = append(out, it.Metadata.Namespace+"/"+it.Metadata.Name)
	}
	return out
}

func listPath(id int64, resource string, q url.Values) string {
	return fmt.Sprintf("/api/v1/clusters/%d/resources/%s?%s", id, resource, q.Encode())
}

// list fetches one page of a cached list as c, which must succeed.
func list(t testing.TB, c *apitest.Client, id int64, resource string, q url.Values) resourcePage {
	t.Helper()
	var p resourcePage
	c.For(t).Expect(http.StatusOK, http.MethodGet, listPath(id, resource, q), nil).JSON(t, &p)
	for _, it := range p.Items {
		require.Nil(t, it.Metadata.ManagedFields, "cached objects carry no managedFields")
	}
	return p
}

// listAll walks every page of limit items and returns the names in order.
func listAll(t testing.TB, c *apitest.Client, id int64, resource string, q url.Values, limit int) []string {
	t.Helper()
	q.Set("limit", fmt.Sprint(limit))
	q.Del("continue")
	var all []string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100, "paging does not end")
		p := list(t, c, id, resource, q)
		require.LessOrEqual(t, len(p.Items), limit)
		all = append(all, p.names()...)
		if p.Continue == "" {
			require.Equal(t, p.Total, len(all), "every page reports the total")
			return all
		}
		require.Len(t, p.Items, limit, "only the last page is short")
		q.Set("continue", p.Continue)
	}
}

func TestCachedLists(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	id := e.importCluster(t, "main")
	ns, ns2 := e.namespace(t, "ks-lists"), e.namespace(t, "ks-lists2")
	viewer := e.user(t, "cviewer", id, "viewer")
	editor := e.user(t, "ceditor", id, "editor")
	suite := uniq("s") // a label only this test's objects carry

	t.Run("a write is in the very next list", func(t *testing.T) {
		q := url.Values{"namespace": {ns}}
		require.Empty(t, list(t, viewer, id, "deployments.apps", q).Items, "the informer starts empty")
		dep := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "fresh"},
			"spec": map[string]any{"replicas": 0, "selector": map[string]any{"matchLabels": map[string]string{"app": "fresh"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]string{"app": "fresh"}},
					"spec": map[string]any{"containers": []any{map[string]string{"name": "c", "image": "busybox"}}}}}}
		e.kubeJSON(t, editor, id, http.MethodPost, "/apis/apps/v1/namespaces/"+ns+"/deployments", dep, http.StatusCreated)
		require.Equal(t, []string{ns + "/fresh"}, list(t, viewer, id, "deployments.apps", q).names())
		e.kubeJSON(t, editor, id, http.MethodDelete, "/apis/apps/v1/namespaces/"+ns+"/deployments/fresh", nil, http.StatusOK)
		require.Empty(t, list(t, viewer, id, "deployments.apps", q).Items)
		applyYAML(t, editor, id, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied}\n", false)
		require.Contains(t, list(t, viewer, id, "configmaps", q).names(), ns+"/applied")
	})

	// Fixtures: 7 configmaps in ns and 1 in ns2 labelled with the suite, two Running pods on kwok
	// nodes and one Pending pod that no node accepts.
	var fixtures strings.Builder
	for i := 0; i < 7; i++ {
		fmt.Fprintf(&fixtures, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: %s, labels: {suite: %s, tier: %s}}\n",
			i, ns, suite, map[bool]string{true: "a", false: "b"}[i%2 == 0])
	}
	fmt.Fprintf(&fixtures, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-x, namespace: %s, labels: {suite: %s, tier: c}}\n", ns2, suite)
	for _, p := range [][2]string{{"run-a", "nodeName: kwok-node-0"}, {"run-b", "nodeName: kwok-node-1"}, {"pend", "nodeSelector: {kstest: none}"}} {
		fmt.Fprintf(&fixtures, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: %s, labels: {suite: %s}}\nspec:\n  %s\n  containers: [{name: c, image: busybox}]\n",
			p[0], ns, suite, p[1])
	}
	e.kube.Kubectl(t, fixtures.String(), "apply", "-f", "-")
	running := url.Values{"namespace": {ns}, "fieldSelector": {"status.phase=Running"}}
	eventually(t, "two pods run", func() bool { return len(list(t, viewer, id, "pods", running).Items) == 2 })

	t.Run("filters", func(t *testing.T) {
		cases := []struct {
			name, resource string
			q              url.Values
			want           []string
		}{
			{"label", "configmaps", url.Values{"labelSelector": {"suite=" + suite + ",tier=a"}},
				[]string{ns + "/cm-0", ns + "/cm-2", ns + "/cm-4", ns + "/cm-6"}},
			{"set-based label", "configmaps", url.Values{"labelSelector": {"suite=" + suite + ",tier notin (a,b)"}}, []string{ns2 + "/cm-x"}},
			{"namespace", "configmaps", url.Values{"labelSelector": {"suite=" + suite}, "namespace": {ns2}}, []string{ns2 + "/cm-x"}},
			{"phase", "pods", running, []string{ns + "/run-a", ns + "/run-b"}},
			{"not running", "pods", url.Values{"namespace": {ns}, "fieldSelector": {"status.phase!=Running"}}, []string{ns + "/pend"}},
			{"node", "pods", url.Values{"labelSelector": {"suite=" + suite}, "fieldSelector": {"spec.nodeName=kwok-node-0"}}, []string{ns + "/run-a"}},
			{"name field", "configmaps", url.Values{"namespace": {ns}, "fieldSelector": {"metadata.name=cm-3"}}, []string{ns + "/cm-3"}},
			{"search by name", "configmaps", url.Values{"namespace": {ns}, "q": {"CM-5"}}, []string{ns + "/cm-5"}},
			{"search by label", "configmaps", url.Values{"q": {"tier=c"}, "labelSelector": {"suite=" + suite}}, []string{ns2 + "/cm-x"}},
			{"sort by name", "pods", url.Values{"namespace": {ns}, "sort": {"name"}}, []string{ns + "/pend", ns + "/run-a", ns + "/run-b"}},
			{"sort by -name", "pods", url.Values{"namespace": {ns}, "sort": {"-name"}}, []string{ns + "/run-b", ns + "/run-a", ns + "/pend"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := list(t, viewer, id, tc.resource, tc.q)
				require.Equal(t, tc.want, p.names())
				require.Equal(t, len(tc.want), p.Total)
				require.NotEmpty(t, p.ResourceVersion)
			})
		}
	})

	t.Run("sort by creation", func(t *testing.T) {
		q := url.Values{"labelSelector": {"suite=" + suite}}
		q.Set("sort", "created")
		up := list(t, viewer, id, "configmaps", q)
		q.Set("sort", "-created")
		down := list(t, viewer, id, "configmaps", q)
		require.Len(t, up.Items, 8)
		for i := 1; i < len(up.Items); i++ {
			require.LessOrEqual(t, up.Items[i-1].Metadata.CreationTimestamp, up.Items[i].Metadata.CreationTimestamp)
		}
		reversed := slices.Clone(down.names())
		slices.Reverse(reversed)
		require.Equal(t, up.names(), reversed)
	})

	t.Run("paging returns everything once, in order", func(t *testing.T) {
		for _, sort := range []string{"name", "-name", "namespace", "created", "-created"} {
			q := url.Values{"labelSelector": {"suite=" + suite}, "sort": {sort}}
			whole := list(t, viewer, id, "configmaps", q).names()
			require.Len(t, whole, 8)
			for _, limit := range []int{1, 3, 8} {
				require.Equal(t, whole, listAll(t, viewer, id, "configmaps", url.Values{"labelSelector": q["labelSelector"], "sort": {sort}}, limit),
					"sort %s, limit %d", sort, limit)
			}
		}
	})

	t.Run("invalid queries name the parameter", func(t *testing.T) {
		q := url.Values{"labelSelector": {"suite=" + suite}, "limit": {"2"}}
		cont := list(t, viewer, id, "configmaps", q).Continue
		require.NotEmpty(t, cont)
		cases := []struct {
			q     url.Values
			field string
		}{
			{url.Values{"labelSelector": {"tier in ("}}, "labelSelector"},
			{url.Values{"fieldSelector": {"spec.replicas=1"}}, "fieldSelector"},
			{url.Values{"fieldSelector": {"==x"}}, "fieldSelector"},
			{url.Values{"sort": {"size"}}, "sort"},
			{url.Values{"limit": {"5000"}}, "limit"},
			{url.Values{"continue": {"not-a-token"}}, "continue"},
			{url.Values{"continue": {cont}, "sort": {"-name"}}, "continue"},
			{url.Values{"namespace": {ns + "/configmaps/x"}}, "namespace"},
			{url.Values{"namespace": {"Not_A_Name"}}, "namespace"},
		}
		for _, tc := range cases {
			r := viewer.For(t).Do(http.MethodGet, listPath(id, "configmaps", tc.q), nil)
			require.Equal(t, http.StatusBadRequest, r.Status, "%v: %s", tc.q, r.Body)
			var b errorBody
			r.JSON(t, &b)
			require.Contains(t, b.Details.Fields, tc.field, "%v: %s", tc.q, r.Body)
		}
		r := viewer.For(t).Do(http.MethodGet, listPath(id, "nodes", url.Values{"namespace": {ns}}), nil)
		require.Equal(t, http.StatusBadRequest, r.Status, "cluster-scoped kinds have no namespace: %s", r.Body)
		for _, res := range []string{"nopes", "pods.nope.example.com", "deployments"} {
			r := viewer.For(t).Do(http.MethodGet, listPath(id, res, url.Values{}), nil)
			require.Equal(t, http.StatusNotFound, r.Status, "%s: %s", res, r.Body)
		}
	})

	t.Run("secrets need an editor", func(t *testing.T) {
		q := url.Values{"namespace": {ns}}
		r := viewer.For(t).Do(http.MethodGet, listPath(id, "secrets", q), nil)
		require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
		r = viewer.For(t).Do(http.MethodGet, listPath(id, "secrets", url.Values{}), nil)
		require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
		// More path in the namespace does not turn a Secrets list into something else.
		r = viewer.For(t).Do(http.MethodGet, listPath(id, "secrets", url.Values{"namespace": {ns + "/configmaps/cm-0"}}), nil)
		require.NotEqual(t, http.StatusOK, r.Status, "%s", r.Body)
		list(t, editor, id, "secrets", q)
		outsider := e.s.For(t).User(e.admin.For(t), "outsider", "", 0, "")
		r = outsider.For(t).Do(http.MethodGet, listPath(id, "configmaps", q), nil)
		require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
	})

	t.Run("overview", func(t *testing.T) {
		var o struct {
			Version string `json:"version"`
			Nodes   struct {
				Total int `json:"total"`
				Ready int `json:"ready"`
			} `json:"nodes"`
			Capacity struct {
				CPUCores float64 `json:"cpu_cores"`
			} `json:"capacity"`
			Counts      map[string]int `json:"counts"`
			PodsByPhase map[string]int `json:"pods_by_phase"`
		}
		viewer.For(t).Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/clusters/%d/overview", id), nil).JSON(t, &o)
		require.Equal(t, "v1.37.2", o.Version)
		nodes := e.kube.Kubectl(t, "", "get", "nodes", "-o",
			`jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}`)
		require.Equal(t, len(strings.Fields(nodes)), o.Nodes.Total)
		require.Equal(t, strings.Count(nodes, "True"), o.Nodes.Ready)
		require.Positive(t, o.Capacity.CPUCores)
		require.GreaterOrEqual(t, o.PodsByPhase["Running"], 2)
		require.GreaterOrEqual(t, o.PodsByPhase["Pending"], 1)
		require.GreaterOrEqual(t, o.Counts["pods"], 3)
		require.GreaterOrEqual(t, o.Counts["configmaps"], 8)
		require.Equal(t, o.Nodes.Total, o.Counts["nodes"])
	})
}
