/** Saving a text file from the page (a download the window hands to the system) and reading a chosen one. */
export function saveText(fileName: string, mimeType: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: mimeType }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function readText(file: File): Promise<string> {
  return file.text();
}
