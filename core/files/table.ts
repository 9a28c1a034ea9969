/** A parsed sheet: the header row's cells and the data rows as text (cells trimmed; missing cells ''). */
export type Table = { header: string[]; rows: string[][] };
