import type { Page } from "playwright-core";

/** Logs in through the login page, as a person would, and waits for the app behind it. */
export async function logIn(page: Page, baseUrl: string, user: { username: string; password: string }) {
  await page.goto(baseUrl);
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out", exact: true }).waitFor();
}
