export function AdminPage(props: { section: string }) {
  return <main className="page">{props.section}</main>;
}
