package export

import (
	"archive/zip"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"
)

// column is one column of a sheet: its header and width in characters.
type column struct {
	title string
	width float64
}

// workbook writes rows into an xlsx with excelize's StreamWriter: a bold, frozen header
// row on each sheet, times as date cells, and a new sheet when one is full.
type workbook struct {
	f        *excelize.File
	sw       *excelize.StreamWriter
	title    string
	columns  []column
	maxRows  int // data rows per sheet
	sheet    int // the current sheet's number, from 1
	row      int // the current sheet's last written row (1 is the header)
	bold     int // style ids
	date     int
	rowCells []any // reused for every row
}

// newWorkbook starts a workbook whose sheets are called title, "title 2", … and hold at
// most maxRows data rows each (0 or too many: Excel's limit).
func newWorkbook(title string, columns []column, maxRows int) (*workbook, error) {
	if maxRows <= 0 || maxRows > excelize.TotalRows-1 {
		maxRows = excelize.TotalRows - 1
	}
	wb := &workbook{f: excelize.NewFile(), title: title, columns: columns, maxRows: maxRows}
	err := wb.styles()
	if err == nil {
		err = wb.nextSheet()
	}
	if err != nil {
		wb.close()
		return nil, err
	}
	return wb, nil
}

func (wb *workbook) styles() error {
	var err error
	if wb.bold, err = wb.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return fmt.Errorf("header style: %w", err)
	}
	format := "yyyy-mm-dd hh:mm:ss"
	if wb.date, err = wb.f.NewStyle(&excelize.Style{CustomNumFmt: &format}); err != nil {
		return fmt.Errorf("date style: %w", err)
	}
	return nil
}

// nextSheet ends the current sheet, if any, and starts the next one with its header.
func (wb *workbook) nextSheet() error {
	wb.sheet++
	name := wb.title
	if wb.sheet == 1 {
		if err := wb.f.SetSheetName("Sheet1", name); err != nil {
			return fmt.Errorf("name sheet %s: %w", name, err)
		}
	} else {
		if err := wb.sw.Flush(); err != nil {
			return fmt.Errorf("end sheet %d: %w", wb.sheet-1, err)
		}
		name = fmt.Sprintf("%s %d", wb.title, wb.sheet)
		if _, err := wb.f.NewSheet(name); err != nil {
			return fmt.Errorf("add sheet %s: %w", name, err)
		}
	}
	sw, err := wb.f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("stream sheet %s: %w", name, err)
	}
	// Widths and panes must precede the first row.
	for i, c := range wb.columns {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return fmt.Errorf("width of column %s: %w", c.title, err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("freeze header of %s: %w", name, err)
	}
	header := make([]any, len(wb.columns))
	for i, c := range wb.columns {
		header[i] = excelize.Cell{StyleID: wb.bold, Value: c.title}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return fmt.Errorf("header of %s: %w", name, err)
	}
	wb.sw, wb.row = sw, 1
	return nil
}

// add writes one data row. Values are written as excelize writes them, except times
// (time.Time or *time.Time), which become UTC date cells; nil and "" leave a cell empty.
func (wb *workbook) add(values []any) error {
	if wb.row > wb.maxRows {
		if err := wb.nextSheet(); err != nil {
			return err
		}
	}
	wb.row++
	cells := wb.rowCells[:0]
	for _, v := range values {
		switch v := v.(type) {
		case time.Time:
			cells = append(cells, wb.dateCell(v))
		case *time.Time:
			if v == nil {
				cells = append(cells, nil)
			} else {
				cells = append(cells, wb.dateCell(*v))
			}
		case string:
			if v == "" {
				cells = append(cells, nil)
			} else {
				cells = append(cells, v)
			}
		default:
			cells = append(cells, v)
		}
	}
	wb.rowCells = cells
	ref, err := excelize.CoordinatesToCellName(1, wb.row)
	if err != nil {
		return err
	}
	if err := wb.sw.SetRow(ref, cells); err != nil {
		return fmt.Errorf("row %d of sheet %d: %w", wb.row, wb.sheet, err)
	}
	return nil
}

// dateCell is a date cell of t in UTC, truncated to the second: the format shows seconds,
// and Excel would round 12:00:00.7 up to 12:00:01 when showing it.
func (wb *workbook) dateCell(t time.Time) excelize.Cell {
	return excelize.Cell{StyleID: wb.date, Value: t.UTC().Truncate(time.Second)}
}

// finish ends the last sheet. After it, only writeTo can fail, and only while sending.
func (wb *workbook) finish() error {
	if err := wb.sw.Flush(); err != nil {
		return fmt.Errorf("end sheet %d: %w", wb.sheet, err)
	}
	return nil
}

// writeTo writes the finished workbook to w. excelize's File.Write builds the whole zip
// in a bytes.Buffer before copying it out, which would hold the compressed file in
// memory; its zip writer hook lets the archive go straight to w instead, the sheets read
// back from the stream writers' buffers and temporary files. The buffer excelize hands
// the hook stays empty, so Write copies nothing more after the zip's end.
func (wb *workbook) writeTo(w io.Writer) error {
	wb.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	if err := wb.f.Write(w); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

// close removes the stream writers' temporary files.
func (wb *workbook) close() {
	_ = wb.f.Close()
}
