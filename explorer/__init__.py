"""Everything that knows architectures or users: the zoo, the CLI, the Streamlit pages and Plotly figures."""
