package normalize

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Layouts tried for time strings, after RFC 3339. Times without a zone are
// UTC: Sysmon's UtcTime is, and NXLog's EventTime is the collector's local
// time, which Vigil cannot know.
var timeLayouts = [...]string{
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

var errTimeRange = errors.New("out of range")

// parseTime reads a time from a string or a number (see the package doc).
// received anchors year-less RFC 3164 times.
func parseTime(v any, received time.Time) (time.Time, error) {
	switch v := v.(type) {
	case string:
		s := strings.TrimSpace(v)
		if s != "" && strings.Trim(s, "0123456789.") == "" {
			if t, err := parseEpoch(s); err == nil {
				return t, nil
			}
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		if t, rest, ok := parseBSDTime(s, received); ok && rest == "" {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("is %s, not a time (want RFC 3339 or epoch milliseconds)", quote(v))
	case json.Number:
		t, err := parseEpoch(v.String())
		if err != nil {
			return time.Time{}, fmt.Errorf("is %s, not a time in epoch milliseconds: %w", v, err)
		}
		return t, nil
	default:
		return time.Time{}, fmt.Errorf("is %s, not a time (want RFC 3339 or epoch milliseconds)", quote(v))
	}
}

// parseEpoch reads epoch milliseconds, or seconds when the magnitude is below
// 1e11. Negative values give times before 1970, which the caller refuses with
// a clear message.
func parseEpoch(s string) (time.Time, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case i > -1e11 && i < 1e11:
			return time.Unix(i, 0).UTC(), nil
		case i < -1e15 || i > 1e15: // beyond year ±33000
			return time.Time{}, errTimeRange
		}
		return time.UnixMilli(i).UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1e15 {
		return time.Time{}, errTimeRange
	}
	whole, frac := math.Modf(f)
	if math.Abs(f) < 1e11 {
		return time.Unix(int64(whole), int64(math.Round(frac*1e9))).UTC(), nil
	}
	return time.UnixMilli(int64(whole)).Add(time.Duration(math.Round(frac * 1e6))).UTC(), nil
}

var months = map[string]time.Month{
	"Jan": time.January, "Feb": time.February, "Mar": time.March, "Apr": time.April,
	"May": time.May, "Jun": time.June, "Jul": time.July, "Aug": time.August,
	"Sep": time.September, "Oct": time.October, "Nov": time.November, "Dec": time.December,
}

// parseBSDTime reads an RFC 3164 time at the start of s: "Jan  5 10:00:01",
// "Jan 05 10:00:01", with optional fractional seconds ("10:00:01.123") and an
// optional year before the time ("Jan  5 2026 10:00:01", Cisco). It returns
// the rest of s after the time.
func parseBSDTime(s string, received time.Time) (time.Time, string, bool) {
	if len(s) < 15 || s[3] != ' ' {
		return time.Time{}, s, false
	}
	month, ok := months[s[:3]]
	if !ok {
		return time.Time{}, s, false
	}
	i := 4
	if s[i] == ' ' {
		i++
	}
	day, i, ok := digits(s, i, 1, 2)
	if !ok || day < 1 || day > 31 || i >= len(s) || s[i] != ' ' {
		return time.Time{}, s, false
	}
	i++
	year := 0
	if y, j, ok := digits(s, i, 4, 4); ok && j < len(s) && s[j] == ' ' {
		year, i = y, j+1
	}
	if i+8 > len(s) || s[i+2] != ':' || s[i+5] != ':' {
		return time.Time{}, s, false
	}
	hour, _, ok1 := digits(s, i, 2, 2)
	minute, _, ok2 := digits(s, i+3, 2, 2)
	sec, _, ok3 := digits(s, i+6, 2, 2)
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, s, false
	}
	i += 8
	nsec := 0
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && j-i <= 9 && s[j] >= '0' && s[j] <= '9' {
			nsec = nsec*10 + int(s[j]-'0')
			j++
		}
		if j == i+1 {
			return time.Time{}, s, false
		}
		for k := j - i - 1; k < 9; k++ {
			nsec *= 10
		}
		i = j
	}
	if i < len(s) && s[i] != ' ' {
		return time.Time{}, s, false
	}
	rest := strings.TrimPrefix(s[i:], " ")
	if year != 0 {
		t := time.Date(year, month, day, hour, minute, sec, nsec, time.UTC)
		return t, rest, t.Day() == day
	}
	// The latest year that keeps the time within the allowed skew; Feb 29
	// needs a leap year, hence the four years back.
	ry := received.Year()
	for y := ry + 1; y >= ry-4; y-- {
		t := time.Date(y, month, day, hour, minute, sec, nsec, time.UTC)
		if t.Day() != day {
			continue
		}
		if t.Sub(received) <= MaxFutureSkew {
			return t, rest, true
		}
	}
	return time.Time{}, s, false
}

// digits reads min to max decimal digits at s[i:].
func digits(s string, i, min, max int) (int, int, bool) {
	n, j := 0, i
	for j < len(s) && j-i < max && s[j] >= '0' && s[j] <= '9' {
		n = n*10 + int(s[j]-'0')
		j++
	}
	return n, j, j-i >= min
}
