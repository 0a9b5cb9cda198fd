package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progressEvery is how often the progress bar is redrawn.
const progressEvery = 200 * time.Millisecond

// progressBar draws an export's progress on one terminal line: a bar, the
// events done of the total, the rate and the time left. A nil *progressBar
// draws nothing, so callers need not check.
type progressBar struct {
	w       io.Writer
	done    atomic.Int64
	total   int64
	pdf     bool // a PDF report: the events are read, then the file is written
	begin   time.Time
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, begin: time.Now(), stop: make(chan struct{})}
}

// start sets the total, once it is known, and starts redrawing.
func (b *progressBar) start(total int64, pdf bool) {
	if b == nil {
		return
	}
	b.once.Do(func() {
		b.total, b.pdf, b.begin = total, pdf, time.Now()
		b.stopped.Add(1)
		go func() {
			defer b.stopped.Done()
			t := time.NewTicker(progressEvery)
			defer t.Stop()
			for {
				select {
				case <-b.stop:
					return
				case <-t.C:
					b.draw(false)
				}
			}
		}()
	})
}

// set records the events done so far.
func (b *progressBar) set(n int64) {
	if b != nil {
		b.done.Store(n)
	}
}

// finish stops redrawing and draws the last state, ending the line.
func (b *progressBar) finish(ok bool) {
	if b == nil {
		return
	}
	b.once.Do(func() {}) // never started: nothing runs
	close(b.stop)
	b.stopped.Wait()
	if ok && b.total > 0 {
		b.done.Store(b.total)
	}
	b.draw(true)
}

// barWidth is the width of the bar itself, in cells.
const barWidth = 30

func (b *progressBar) draw(last bool) {
	done, elapsed := b.done.Load(), time.Since(b.begin)
	rate := float64(done) / max(elapsed.Seconds(), 1e-3)
	var line strings.Builder
	if b.total > 0 {
		frac := min(float64(done)/float64(b.total), 1)
		fill := int(frac * barWidth)
		fmt.Fprintf(&line, "[%s%s] %3.0f%%  %s/%s events  %s events/s", strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill),
			frac*100, thousands(done), thousands(b.total), thousands(int64(rate)))
		switch {
		case last:
			fmt.Fprintf(&line, "  in %s", elapsed.Round(100*time.Millisecond))
		case done > 0 && done < b.total:
			eta := time.Duration(float64(b.total-done) / rate * float64(time.Second))
			fmt.Fprintf(&line, "  ETA %s", eta.Round(time.Second))
		case b.pdf && done >= b.total:
			line.WriteString("  writing the PDF")
		}
	} else {
		fmt.Fprintf(&line, "%s events  %s events/s  %s", thousands(done), thousands(int64(rate)), elapsed.Round(100*time.Millisecond))
	}
	end := ""
	if last {
		end = "\n"
	}
	// \r returns to the line's start; \x1b[K clears what a longer line left.
	fmt.Fprintf(b.w, "\r%s\x1b[K%s", line.String(), end)
}

// thousands renders n with comma separators: 1234567 → 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
