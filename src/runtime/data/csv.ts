/**
 * CSV text as the csv source and `nnc predict` read it: records split by RFC 4180, numbers by
 * one rule (no NaN, Infinity, hex or empty cells), each mistake a DataError naming the row and
 * column.
 */
import { clip, DataError, quote, readInput, type DataWhere } from "./common.js";

export interface CsvRecord {
  fields: string[];
  /** The line the record starts on, from 1. */
  row: number;
}

export const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** The largest float32: a feature beyond it would become Infinity in the tensor. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Splits CSV text into records (RFC 4180): fields in double quotes may hold commas, line
 * breaks and doubled quotes; LF, CRLF and CR end lines; blank lines and a byte-order mark are
 * skipped. Fields are returned as written (unquoted, untrimmed).
 */
export function parseCsv(text: string, shown: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const isEnd = (c: number): boolean => c === 44 /* , */ || c === 10 /* \n */ || c === 13; /* \r */
  while (i < n) {
    const row = line;
    const fields: string[] = [];
    let quoted = false;
    for (;;) {
      if (text.charCodeAt(i) === 34 /* " */) {
        quoted = true;
        const column = fields.length + 1;
        let field = "";
        let from = ++i;
        for (;;) {
          if (i >= n) throw new DataError(`${shown} row ${row}, column ${column}: a quoted field is never closed (the file ends inside its quotes).`, { file, row, column });
          const c = text.charCodeAt(i);
          if (c === 34) {
            field += text.slice(from, i);
            if (text.charCodeAt(i + 1) === 34) {
              field += '"';
              i += 2;
              from = i;
              continue;
            }
            i++;
            break;
          }
          if (c === 10) line++;
          i++;
        }
        while (i < n && !isEnd(text.charCodeAt(i))) {
          if (text[i] !== " " && text[i] !== "\t") {
            throw new DataError(`${shown} row ${line}, column ${column}: expected a comma or the end of the line after the closing quote, found ${JSON.stringify(text[i])}.`, { file, row: line, column });
          }
          i++;
        }
        fields.push(field);
      } else {
        const from = i;
        while (i < n && !isEnd(text.charCodeAt(i))) i++;
        fields.push(text.slice(from, i));
      }
      if (text.charCodeAt(i) === 44) {
        i++;
        continue;
      }
      break;
    }
    if (text.charCodeAt(i) === 13) i++;
    if (text.charCodeAt(i) === 10) i++;
    line++;
    if (quoted || fields.length > 1 || fields[0]!.trim() !== "") records.push({ fields, row });
  }
  return records;
}

/** A numeric cell, or a DataError naming it. */
export function csvNumber(raw: string, at: string, hint: string, where: DataWhere): number {
  const v = raw.trim();
  if (!NUMBER.test(v)) {
    const found = v === "" ? "an empty field" : quote(raw);
    const why = /^[+-]?(nan|inf(inity)?)$/i.test(v) ? " Missing or infinite values cannot be trained on: drop the row, or fill it in (with the column's mean, say)." : ` ${hint}`;
    throw new DataError(`${at}: expected a number, found ${found}.${why}`, where);
  }
  const value = Number(v);
  if (Math.abs(value) > FLOAT32_MAX) {
    throw new DataError(`${at}: ${clip(v)} is too large for a 32-bit float (at most about 3.4e38), so it would train as Infinity. Rescale the column.`, where);
  }
  return value;
}


/** A CSV file's header (its column names, trimmed, and its row) and its data records. */
export interface CsvFile {
  names: string[];
  headerRow: number;
  rows: CsvRecord[];
}

/** Reads and splits a user's CSV file; a binary or empty file is a DataError naming it. `perRow`: what a row holds, for the message ("example"). */
export async function readCsvFile(file: string, shown: string, perRow: string): Promise<CsvFile> {
  const bytes = await readInput(file, shown, "CSV file");
  if (bytes.subarray(0, 8192).includes(0)) throw new DataError(`The CSV file ${shown} is not text: it holds zero bytes (is it a binary or compressed file?).`, { file });
  const records = parseCsv(bytes.toString("utf8"), shown, file);
  if (records.length === 0) throw new DataError(`The CSV file ${shown} is empty: expected a header row naming the columns, then one row per ${perRow}.`, { file });
  const header = records[0]!;
  return { names: header.fields.map((f) => f.trim()), headerRow: header.row, rows: records.slice(1) };
}
