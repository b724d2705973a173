/** A failed action's message, announced to screen readers; nothing when there is none. */
export function ErrorLine(props: { error: string | undefined; testId?: string }) {
  if (!props.error) return null;
  return (
    <p className="error" role="alert" data-testid={props.testId}>
      {props.error}
    </p>
  );
}
