package resources

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubespace/kubespace/pkg/errs"
)

// Query selects a page of a cached list.
type Query struct {
	Namespace     string `query:"namespace" json:"namespace,omitempty"`
	LabelSelector string `query:"labelSelector" json:"labelSelector,omitempty"`
	FieldSelector string `query:"fieldSelector" json:"fieldSelector,omitempty"`
	Q             string `query:"q" json:"q,omitempty"`
	Sort          string `query:"sort" json:"sort,omitempty" enum:"name,-name,namespace,-namespace,created,-created"`
	Limit         int    `query:"limit" json:"limit,omitempty"`
	Continue      string `query:"continue" json:"continue,omitempty"`
}

// Page is one page of a cached list; Items are JSON objects.
type Page struct {
	Items           [][]byte
	Total           int
	Continue        string
	ResourceVersion string
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// sortKey orders entries by one field, then namespace, then name, so pages are stable.
type sortKey struct {
	field string
	desc  bool
}

func (s sortKey) value(e *entry) string {
	switch s.field {
	case "namespace":
		return e.Namespace
	case "created":
		// RFC 3339 in UTC sorts lexically in time order.
		return e.CreationTimestamp.UTC().Format("2006-01-02T15:04:05Z")
	default:
		return e.Name
	}
}

func (s sortKey) less(a, b *entry) bool {
	ka, kb := [3]string{s.value(a), a.Namespace, a.Name}, [3]string{s.value(b), b.Namespace, b.Name}
	for i := range ka {
		if ka[i] != kb[i] {
			return (ka[i] < kb[i]) != s.desc
		}
	}
	return false
}

// cursor is the continue token: the sort and the last item's keys.
type cursor struct {
	Sort string    `json:"s"`
	Last [3]string `json:"k"`
}

// Resolve finds a kind by its API name ("pods", "deployments.apps").
func (b *Browser) Resolve(ctx context.Context, clusterID int64, resource string) (Kind, error) {
	cc, err := b.cluster(ctx, clusterID)
	if err != nil {
		return Kind{}, err
	}
	return b.kind(ctx, cc, resource)
}

// List returns one page of a kind's cached list. The caller has already authorized the list.
func (b *Browser) List(ctx context.Context, clusterID int64, k Kind, q Query) (*Page, error) {
	sel, err := parseQuery(&q)
	if err != nil {
		return nil, err
	}
	cc, err := b.cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	if !k.Namespaced && q.Namespace != "" {
		return nil, errs.Invalidf("%s are not namespaced; drop the namespace parameter", k.Name())
	}
	inf, err := b.informerFor(ctx, cc, k)
	if err != nil {
		return nil, err
	}
	if err := b.fresh(ctx, cc, inf); err != nil {
		return nil, err
	}
	var objs []any
	if q.Namespace != "" {
		objs, err = inf.inf.GetIndexer().ByIndex("namespace", q.Namespace)
		if err != nil {
			return nil, err
		}
	} else {
		objs = inf.inf.GetStore().List()
	}
	matched := make([]*entry, 0, len(objs))
	for _, o := range objs {
		if e, ok := o.(*entry); ok && sel.match(e) {
			matched = append(matched, e)
		}
	}
	sk := sortKey{field: strings.TrimPrefix(q.Sort, "-"), desc: strings.HasPrefix(q.Sort, "-")}
	sort.Slice(matched, func(i, j int) bool { return sk.less(matched[i], matched[j]) })
	start := 0
	if q.Continue != "" {
		c, err := decodeCursor(q.Continue, q.Sort)
		if err != nil {
			return nil, err
		}
		start = sort.Search(len(matched), func(i int) bool {
			e := matched[i]
			k := [3]string{sk.value(e), e.Namespace, e.Name}
			for j := range k {
				if k[j] != c.Last[j] {
					return (k[j] > c.Last[j]) != sk.desc
				}
			}
			return false
		})
	}
	page := &Page{Total: len(matched), ResourceVersion: inf.inf.LastSyncResourceVersion()}
	end := len(matched)
	if q.Limit > 0 && start+q.Limit < end {
		end = start + q.Limit
		last := matched[end-1]
		page.Continue = encodeCursor(cursor{Sort: q.Sort, Last: [3]string{sk.value(last), last.Namespace, last.Name}})
	}
	page.Items = make([][]byte, 0, end-start)
	for _, e := range matched[start:end] {
		page.Items = append(page.Items, e.raw)
	}
	return page, nil
}

// selector is a parsed query filter.
type selector struct {
	labels labels.Selector
	fields fields.Selector
	text   string
}

func (s selector) match(e *entry) bool {
	if s.labels != nil && !s.labels.Matches(labels.Set(e.Labels)) {
		return false
	}
	if s.fields != nil && !s.fields.Matches(fields.Set(e.fieldSet())) {
		return false
	}
	if s.text != "" {
		if strings.Contains(strings.ToLower(e.Name), s.text) || strings.Contains(strings.ToLower(e.Namespace), s.text) {
			return true
		}
		for k, v := range e.Labels {
			if strings.Contains(strings.ToLower(k+"="+v), s.text) {
				return true
			}
		}
		return false
	}
	return true
}

func parseQuery(q *Query) (selector, error) {
	f := errs.Fields{}
	var s selector
	if q.Limit == 0 {
		q.Limit = defaultLimit
	}
	if q.Limit < 0 || q.Limit > maxLimit {
		f.Add("limit", "must be between 1 and %d", maxLimit)
	}
	if q.Sort == "" {
		q.Sort = "name"
	}
	switch strings.TrimPrefix(q.Sort, "-") {
	case "name", "namespace", "created":
	default:
		f.Add("sort", "must be name, namespace or created, optionally prefixed with -")
	}
	if q.LabelSelector != "" {
		sel, err := labels.Parse(q.LabelSelector)
		if err != nil {
			f.Add("labelSelector", "is invalid: %s", err.Error())
		}
		s.labels = sel
	}
	if q.FieldSelector != "" {
		sel, err := fields.ParseSelector(q.FieldSelector)
		if err != nil {
			f.Add("fieldSelector", "is invalid: %s", err.Error())
		} else {
			for _, r := range sel.Requirements() {
				if !fieldSupported(r.Field) {
					f.Add("fieldSelector", "field %q cannot be selected on cached lists; use metadata.name, metadata.namespace, status.phase, spec.nodeName, spec.type, type, reason or involvedObject.{kind,name,namespace,uid}", r.Field)
				}
			}
		}
		s.fields = sel
	}
	s.text = strings.ToLower(strings.TrimSpace(q.Q))
	return s, f.Err()
}

func fieldSupported(field string) bool {
	if field == "metadata.name" || field == "metadata.namespace" {
		return true
	}
	for _, p := range selectable {
		if strings.Join(p, ".") == field {
			return true
		}
	}
	return false
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(token, sortBy string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Sort != sortBy {
		return c, errs.Field("continue", "is not a token from a previous page of this list with this sort (it is corrupt or belongs to another sort)")
	}
	return c, nil
}

// WriteJSON streams a page as {"items":[...],"total":N,"continue":"...","resource_version":"..."}
// without building it in memory: the items are already JSON.
func (p *Page) WriteJSON(w io.Writer) error {
	if _, err := io.WriteString(w, `{"items":[`); err != nil {
		return err
	}
	for i, it := range p.Items {
		if i > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		if _, err := w.Write(it); err != nil {
			return err
		}
	}
	tail, _ := json.Marshal(struct {
		Total           int    `json:"total"`
		Continue        string `json:"continue,omitempty"`
		ResourceVersion string `json:"resource_version"`
	}{p.Total, p.Continue, p.ResourceVersion})
	_, err := io.WriteString(w, "],"+string(tail[1:]))
	return err
}
