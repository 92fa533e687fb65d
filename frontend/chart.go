package frontend

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The charts are server-rendered SVG: a cumulative quantity per day over a whole period, with a
// y axis in the quantity's unit, date ticks over the period, a labelled limit line (a spending
// cap, an included quantity), the projection to the period's end dashed, and each day's value on
// hover (an SVG title). No charting library: the page already has the numbers, and a static SVG
// needs no script, prints, and follows both themes through CSS. The Spend page charts spend per
// provider; a resource's page charts its usage per metered dimension.
const (
	chartW, chartH         = 720, 200
	chartLeft, chartBottom = 64, 22 // room for the y labels and the dates
	chartTop, chartRight   = 12, 12
	plotW, plotH           = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
)

// series is what a chart shows: the cumulative value at the end of each day from Start (the
// days so far), over the period Start–End (both days included).
type series struct {
	Start, End time.Time
	Values     []float64
	// Projected is the value expected at the period's end; no projection is drawn when it is not
	// above the last value.
	Projected float64
	// Limit is the horizontal line, labelled LimitLabel; none when LimitLabel is "".
	Limit      float64
	LimitLabel string
	LimitClass string               // "" for a cap (drawn as a stop), "included" for an included quantity
	Format     func(float64) string // hover labels, and the axis's unless AxisFormat is set
	// AxisFormat writes the y axis's numbers when a unit is too long for every tick; Unit then
	// names it once, above the axis.
	AxisFormat func(float64) string
	Unit       string
}

// chart is a chart's SVG geometry, in viewBox units.
type chart struct {
	Points     int
	Line, Area string
	Projection string // the dashed line from today to the period's end, "" when flat
	CapY       float64
	CapLabel   string
	CapClass   string
	// ProjectionTitle is the projection's hover text.
	ProjectionTitle string
	YTicks          []chartTick
	XTicks          []chartTick
	Days            []chartDay // one hover band per day so far
	Unit            string     // the y axis's unit, shown above it ("" when the ticks carry it)
	From, To        string
	Summary         string
}

type chartTick struct {
	At     float64
	Label  string
	Anchor string // the label's text-anchor: "middle", or "end" at the right edge
}

type chartDay struct {
	X, W  float64
	Title string
}

// chart lays the series out over the whole period, scaled to the larger of the limit, the values
// and the projection.
func (s series) chart() chart {
	c := chart{Points: len(s.Values)}
	if c.Points == 0 {
		return c
	}
	top := max(s.Projected, 0)
	if s.LimitLabel != "" {
		top = max(top, s.Limit)
	}
	for _, v := range s.Values {
		top = max(top, v)
	}
	top = niceCeiling(top * 1.05)
	days := max(s.End.Sub(s.Start).Hours()/24+1, float64(len(s.Values)))
	x := func(day float64) float64 { return chartLeft + day/days*plotW }
	y := func(v float64) float64 { return chartTop + plotH - v/top*plotH }
	f := fmtF
	var line, area []string
	area = append(area, f(x(0))+","+f(y(0)))
	for i, v := range s.Values {
		vy := y(v)
		x0, x1 := x(float64(i)), x(float64(i+1))
		line = append(line, f(x0)+","+f(vy), f(x1)+","+f(vy))
		area = append(area, f(x0)+","+f(vy), f(x1)+","+f(vy))
		c.Days = append(c.Days, chartDay{X: x0, W: x1 - x0, Title: s.Start.AddDate(0, 0, i).Format("Jan 2") + ": " + s.Format(v) + " so far"})
	}
	lastX := x(float64(len(s.Values)))
	area = append(area, f(lastX)+","+f(y(0)))
	c.Line, c.Area = strings.Join(line, " "), strings.Join(area, " ")
	last := s.Values[len(s.Values)-1]
	if s.Projected > last && float64(len(s.Values)) < days {
		c.Projection = f(lastX) + "," + f(y(last)) + " " + f(x(days)) + "," + f(y(s.Projected))
		c.ProjectionTitle = "projected at the period's end: " + s.Format(s.Projected)
	}
	if s.LimitLabel != "" {
		c.CapY, c.CapLabel, c.CapClass = y(s.Limit), s.LimitLabel, s.LimitClass
	}
	axis := s.Format
	if s.AxisFormat != nil {
		axis, c.Unit = s.AxisFormat, s.Unit
	}
	for i := range 5 {
		v := top * float64(i) / 4
		c.YTicks = append(c.YTicks, chartTick{At: y(v), Label: axis(v)})
	}
	// Weekly ticks, and the period's last day (without a weekly tick too close to it).
	for d := s.Start; s.End.Sub(d) >= 72*time.Hour; d = d.AddDate(0, 0, 7) {
		c.XTicks = append(c.XTicks, chartTick{At: x(d.Sub(s.Start).Hours() / 24), Label: d.Format("Jan 2"), Anchor: "middle"})
	}
	c.XTicks = append(c.XTicks, chartTick{At: x(days), Label: s.End.Format("Jan 2"), Anchor: "end"})
	c.From, c.To = s.Start.Format(time.DateOnly), s.Start.AddDate(0, 0, len(s.Values)-1).Format(time.DateOnly)
	return c
}

// niceCeiling rounds v up to a round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of
// ten), so the axis's quarters read as round figures without much empty room above.
func niceCeiling(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
