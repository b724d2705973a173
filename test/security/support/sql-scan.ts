import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

const SQL =
  /\b(SELECT|INSERT\s+INTO|UPDATE\s+[a-z_]+\s+SET|DELETE\s+FROM|DROP\s+(TABLE|INDEX|FUNCTION|DATABASE|VIEW)|CREATE\s+(TABLE|INDEX|DATABASE|FUNCTION|VIEW)|ALTER\s+TABLE|TRUNCATE|WHERE|VALUES|ON\s+CONFLICT)\b/;

export interface Finding {
  key: string;
  line: number;
}

export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules") out.push(...sourceFiles(path));
    else if (entry.isFile() && /\.ts$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

function literalText(n: ts.Node): string | undefined {
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
  return undefined;
}

/**
 * Where one file interpolates something into SQL text: `${…}` in a template literal whose text has
 * SQL keywords, or `+` joining such a string literal with something that is not a literal.
 * Keys read `path: expression`.
 */
export function findInterpolatedSql(root: string, file: string, text: string): Finding[] {
  const rel = relative(root, file);
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: Finding[] = [];
  const at = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (n: ts.Node) => {
    if (ts.isTemplateExpression(n)) {
      const sql = [n.head.text, ...n.templateSpans.map((s) => s.literal.text)].join(" ");
      if (SQL.test(sql)) {
        for (const span of n.templateSpans)
          found.push({ key: `${rel}: ${span.expression.getText(sf)}`, line: at(span) });
      }
    }
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      const l = literalText(n.left);
      const r = literalText(n.right);
      if (
        (l !== undefined && SQL.test(l) && r === undefined) ||
        (r !== undefined && SQL.test(r) && l === undefined)
      ) {
        const other = l !== undefined ? n.right : n.left;
        found.push({ key: `${rel}: ${other.getText(sf)}`, line: at(n) });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}
