package pipeline

import (
	"fmt"
	"strings"
	"time"
	// Time zones must resolve in the distroless images too, which ship no zoneinfo.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// cronParser reads standard 5-field expressions and the @hourly/@daily/@every descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a cron trigger: a 5-field expression (or a descriptor such as @daily)
// evaluated in the IANA time zone tz ("" is UTC). The zone is a separate field, so an
// expression carrying its own CRON_TZ= or TZ= prefix is refused rather than silently winning.
func ParseSchedule(expr, tz string) (cron.Schedule, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, fmt.Errorf("is required")
	}
	if strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ=") {
		return nil, fmt.Errorf("must not carry a time zone; set time_zone instead")
	}
	loc, err := LoadZone(tz)
	if err != nil {
		return nil, err
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("is not a valid cron expression (minute hour day-of-month month day-of-week): %v", err)
	}
	if every, ok := s.(cron.ConstantDelaySchedule); ok && every.Delay < time.Minute {
		// Triggers are checked every few seconds and each fire is a whole run: a cron trigger
		// is for minutes and more, like the 5-field expressions.
		return nil, fmt.Errorf("must fire at most once a minute (@every 1m or more)")
	}
	if spec, ok := s.(*cron.SpecSchedule); ok {
		spec.Location = loc
		// A spec that can never fire (February 30th) makes Next search for years and return
		// the zero time; refuse it instead of storing a trigger that never runs.
		if spec.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
			return nil, fmt.Errorf("never fires")
		}
	}
	return s, nil
}

// LoadZone loads an IANA time zone; "" is UTC.
func LoadZone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	// time.LoadLocation also accepts "Local", which would depend on the machine.
	if tz == "Local" {
		return nil, fmt.Errorf("must be an IANA time zone such as Europe/Paris, not Local")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("is not a known IANA time zone (such as UTC or Asia/Shanghai)")
	}
	return loc, nil
}
