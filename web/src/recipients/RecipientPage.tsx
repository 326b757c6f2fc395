export function RecipientPage(props: { id: string }) {
  return <main className="page">{props.id}</main>;
}
